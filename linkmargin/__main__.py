from linkmargin.cli import main

main()
