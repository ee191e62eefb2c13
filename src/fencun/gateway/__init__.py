"""The WeChat callback: verification, decryption, de-duplication, passive replies."""
