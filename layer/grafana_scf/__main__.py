import sys

from grafana_scf.cli import main

sys.exit(main())
