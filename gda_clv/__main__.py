"""`python -m gda_clv` is `gda-clv`."""
from gda_clv.cli import main

raise SystemExit(main())
