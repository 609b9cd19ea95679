import sys

from labelhub_tools.cli import main

sys.exit(main())
