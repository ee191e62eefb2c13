"""fencun (分寸): a self-hosted WeChat marketing system with a sense of measure."""

__version__ = "0.1.0"
