"""ossbox's client commands (cp, ls, stat, mb, rb, rm, presign/sign), built on `ossbox.client`.

`ossbox.cli` imports `commands.app` only when one of these commands runs or is listed, so `ossbox serve`
starts as before; `commands.connection` holds the options the group shares with them. `commands.app` in turn
imports the client's transport, the transfer machinery and whatever else only some commands use when they
use it, so `ossbox --help` imports neither.
"""
