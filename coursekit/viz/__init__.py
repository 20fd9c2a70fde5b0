"""Drawing (all chapters): figures, animations that play on the website, interactive widgets.

Modules: ``plotting`` (samples and paths; the notebooks' entry point for figures, which also offers
the grid figures and the style), ``fields`` (densities and vector fields on a grid), ``style`` (the
course's matplotlib defaults and the helpers the drawing modules share), ``animation``, ``widgets``,
``guidance_widgets``. They need matplotlib and ipywidgets, and nothing of the mathematics imports
them: import the module you need, e.g. ``from coursekit.viz import plotting``.
"""

__all__: list[str] = []
