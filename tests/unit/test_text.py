"""Host text shown to people: control characters never pass."""
from migrator.text import printable


def test_control_characters_and_newlines():
    assert printable("SSH-\x1b[31mRED\x1b]0;pwned\x07\r\nnext\tline\x00") == \
        "SSH-\ufffd[31mRED\ufffd]0;pwned\ufffd next line\ufffd"
    assert printable("\u009b31m") == "\ufffd31m"           # the 8-bit CSI too
    assert printable("x" * 50, limit=10) == "x" * 9 + "\u2026"
    assert printable("Grüße, 東京") == "Grüße, 東京"
