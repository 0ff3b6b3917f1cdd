"""`python -m linkmargin_cli`: the same as the `linkmargin` console script."""

from linkmargin_cli import main

main()
