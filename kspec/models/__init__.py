"""Models: Sequential (and graph models), the training loop, callbacks and summary."""
from kspec.models.model import Model
from kspec.models.sequential import Sequential
from kspec.models.callbacks import Callback, History
