"""The one exception simulator commands raise, shared by the simulator and its control API."""


class SimulatorError(Exception):
    """A simulator command that cannot be carried out; ``status`` is the control API's answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
