"""One module per probe section; each registers `parse(text)` under the section's name."""
