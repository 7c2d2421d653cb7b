"""Writers turn the model (and findings) into workbooks and documents."""
