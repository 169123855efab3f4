"""``python -m torch_gaunt.cli`` is ``torch-gaunt``."""

from . import main

raise SystemExit(main())
