"""ossbox's client commands (cp, ls, stat, mb, rb, rm, presign/sign), built on `ossbox.client`.

`ossbox.cli` imports `commands.app` (and with it the client) only when one of these commands runs, so
`ossbox serve` starts as before; `commands.connection` holds the options the group shares with them.
"""
