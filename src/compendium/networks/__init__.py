"""Layer 2: the networks (small CNNs, torchvision loaders) and their training."""
