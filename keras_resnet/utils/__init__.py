"""Small helpers every room uses: `checks` (numeric limits and option rules), `files` (atomic writes, locks,
free space) and `plots` (PNG figures). Nothing here imports Keras."""
