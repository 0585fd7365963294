"""Pure analysis: raw host facts in, findings with evidence out.

Nothing here touches the network, the database or Flask; the standard library only.
"""
