"""Layer 2: the networks (small CNNs, torchvision loaders), their training, and the profile
entries that name chapter 4's small networks (`zoo`)."""
