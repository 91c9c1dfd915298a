"""Pure-PyTorch reference transformers and helpers used to make AttnScope's golden fixtures."""
