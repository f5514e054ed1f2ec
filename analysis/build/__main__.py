"""`python -m analysis.build COMMAND ...`: the build and release tools.

    provenance [--root DIR] [--data FILE]     Quarto's pre-render step by hand (footer values, freeze check)
    sections [--root DIR]                     the optional sections the study's data allow (report/_metadata.yml)
    execute [--jobs N] [PAGE.qmd ...]         execute chapters as Quarto's Jupyter engine does
    preview [DIR]                             execute every chapter and write HTML previews (default _preview/)
    check-site SITE [--data FILE] [--anchors] check a rendered site before publishing
    publish SITE --tag vX.Y.Z --target DIR    add a release to a checkout of gh-pages, keeping earlier versions
    data [PATH]                               regenerate the committed synthetic cohort
    registry N [PATH] [--seed S]              a seeded synthetic registry of N patients
    screenshots [DIR]                         the README's figure and table as PNG (default docs/)
"""
import sys

from analysis.build.cli import main

sys.exit(main(sys.argv[1:]))
