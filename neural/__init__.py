"""The neural reference path (torch): learned linear-Gaussian and MLP VAEs for lingauss."""
