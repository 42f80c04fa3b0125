"""Layer 1: the image sets (Fashion-MNIST, ImageNet-style folders), categories, synthetic data."""
