from densexp_tui.cli import main

raise SystemExit(main())
