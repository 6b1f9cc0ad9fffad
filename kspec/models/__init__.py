"""Models: Sequential (and graph models), the training loop, callbacks and summary."""
from kspec.models.model import Model
from kspec.models.sequential import Sequential
from kspec.models.callbacks import (Callback, CSVLogger, EarlyStopping, History, LambdaCallback,
                                    LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau, TerminateOnNaN)
from kspec.models.summary import format_summary
from kspec.models.functional import Functional, Input, KerasTensor
