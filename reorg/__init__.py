"""reorg: plan and run port reorganisations without two services ever fighting over a port."""

__version__ = "0.1.0"
