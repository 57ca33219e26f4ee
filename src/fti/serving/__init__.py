"""Online inference: deployments with a published request contract, inference logging."""

from fti.serving.client import Client
from fti.serving.deployment import Deployment, ModelServing

__all__ = ["Client", "Deployment", "ModelServing"]
