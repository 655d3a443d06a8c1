"""trialmeta: extraction, harmonisation and pooling of single-arm trial endpoints.

The science of the pipeline lives here so that it can be imported and tested
without Snakemake; `workflow/scripts/` holds thin adapters that call it.
"""

__version__ = "0.1.0"
