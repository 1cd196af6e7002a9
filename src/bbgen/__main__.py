from bbgen.cli import main

main()
