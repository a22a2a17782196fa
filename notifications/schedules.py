from .scheduling import PeriodicTask, register

register(
    PeriodicTask(
        name="notifications.sweep",
        func="notifications.tasks.sweep",
        minutes=1,
    ),
)
