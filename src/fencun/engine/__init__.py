"""The restraint engine: pure Python + numpy, no Django. Plain data in, plain data out."""
