from jirasim.cli import main

raise SystemExit(main())
