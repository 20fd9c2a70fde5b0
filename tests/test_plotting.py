"""Tests for coursekit.viz.plotting: every function draws, labels its axes, validates shapes."""

import matplotlib

matplotlib.use("Agg")

import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from IPython.display import HTML
from matplotlib.animation import FuncAnimation
from matplotlib.axes import Axes

from coursekit.viz import animation, plotting


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def _labelled(ax: Axes) -> bool:
    return bool(ax.get_xlabel()) and bool(ax.get_ylabel())


def _render(anim: FuncAnimation, n_frames: int) -> None:
    anim._init_draw()  # what a display does first (also silences "deleted without rendering")
    for i in range(n_frames):
        anim._func(i)


def _standard_normal_log_prob(x: torch.Tensor) -> torch.Tensor:
    return -0.5 * (x**2).sum(-1) - np.log(2 * np.pi)


def test_set_style_is_idempotent():
    plotting.set_style()
    first = dict(matplotlib.rcParams)
    plotting.set_style()
    assert dict(matplotlib.rcParams) == first
    assert matplotlib.rcParams["image.cmap"] == "viridis"
    assert matplotlib.rcParams["animation.embed_limit"] >= 50
    assert tuple(matplotlib.rcParams["figure.figsize"]) == (5.0, 4.0)


def test_plot_samples_2d_with_labels_has_one_legend_entry_per_class():
    x = torch.randn(60, 2, generator=_gen())
    labels = torch.arange(60) % 3
    ax = plotting.plot_samples(x, labels=labels, title="three classes", lims=(-3, 3))
    assert isinstance(ax, Axes)
    assert ax.get_xlabel() == "$x_1$" and ax.get_ylabel() == "$x_2$"
    assert ax.get_title() == "three classes"
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["0", "1", "2"]
    assert ax.get_xlim() == (-3.0, 3.0) and ax.get_ylim() == (-3.0, 3.0)
    assert sum(len(c.get_offsets()) for c in ax.collections) == 60


def test_plot_samples_lims_per_axis_label_and_existing_axes():
    _, axes = plt.subplots(1, 2)
    x = torch.randn(10, 2, generator=_gen())
    ax = plotting.plot_samples(x, ax=axes[1], lims=((-1, 2), (-5, 5)), label="data", xlabel="a", ylabel="b")
    assert ax is axes[1]
    assert ax.get_xlim() == (-1.0, 2.0) and ax.get_ylim() == (-5.0, 5.0)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["data"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("a", "b")


def test_plot_samples_accepts_requires_grad_float64_and_numpy():
    x = torch.randn(20, 2, dtype=torch.float64, generator=_gen()).requires_grad_()
    assert _labelled(plotting.plot_samples(x))
    assert _labelled(plotting.plot_samples(x.detach().numpy()))


def test_plot_samples_1d_draws_a_density_histogram():
    x = torch.randn(500, 1, generator=_gen())
    ax = plotting.plot_samples(x, lims=(-4, 4))
    assert ax.get_xlabel() == "$x$" and ax.get_ylabel() == "density"
    heights = np.array([p.get_height() for p in ax.patches])
    widths = np.array([p.get_width() for p in ax.patches])
    assert np.isclose((heights * widths).sum(), 1.0)  # density=True integrates to one


@pytest.mark.parametrize("shape", [(10, 3), (2, 10, 2), (10, 0)])
def test_plot_samples_rejects_bad_shapes(shape):
    with pytest.raises(ValueError, match=re.escape(str(shape))):
        plotting.plot_samples(torch.zeros(shape))


def test_plot_samples_rejects_bad_labels():
    with pytest.raises(ValueError, match="labels"):
        plotting.plot_samples(torch.zeros(10, 2), labels=torch.zeros(9))


def test_grid_points_shape_and_ij_ordering():
    points, X, Y = plotting.grid_points(((-1, 1), (0, 2)), 5)
    assert points.shape == (25, 2) and points.dtype == torch.float32
    assert X.shape == Y.shape == (5, 5)
    np.testing.assert_allclose(points.reshape(5, 5, 2).numpy(), np.stack([X, Y], axis=-1), rtol=0, atol=1e-6)
    np.testing.assert_allclose(X[:, 0], np.linspace(-1, 1, 5))  # ij: X varies along the first index
    np.testing.assert_allclose(Y[0, :], np.linspace(0, 2, 5))
    assert plotting.grid_points((-1, 1), 3, dtype=torch.float64)[0].dtype == torch.float64


@pytest.mark.parametrize("lims", [(1, -1), (0, 0), ((0, 1),), "ab"])
def test_grid_points_rejects_bad_lims(lims):
    with pytest.raises((ValueError, TypeError), match="lims"):
        plotting.grid_points(lims, 4)


def test_plot_density_maximum_at_grid_point_closest_to_zero():
    n = 41
    ax = plotting.plot_density(_standard_normal_log_prob, lims=(-3, 3.5), n=n, title="N(0, I)")
    assert _labelled(ax) and ax.get_title() == "N(0, I)"
    values = np.asarray(ax.collections[0].get_array()).reshape(-1)
    points, _, _ = plotting.grid_points((-3, 3.5), n)
    closest = int(points.norm(dim=-1).argmin())
    assert int(values.argmax()) == closest
    assert np.isclose(values.max(), np.exp(_standard_normal_log_prob(points[closest]).item()), rtol=1e-5)
    assert ax.figure.axes[-1].get_ylabel() == "density"  # the colour bar


def test_plot_density_handles_minus_infinity_and_log_scale():
    def half_plane(x: torch.Tensor) -> torch.Tensor:
        out = _standard_normal_log_prob(x)
        return torch.where(x[:, 0] > 0, out, torch.full_like(out, -torch.inf))

    ax = plotting.plot_density(half_plane, n=20)
    values = np.asarray(ax.collections[0].get_array())
    assert np.all(np.isfinite(values)) and (values == 0).sum() == 200  # the 10 columns with x <= 0
    ax = plotting.plot_density(half_plane, n=20, exp=False, dtype=torch.float64)
    assert ax.figure.axes[-1].get_ylabel() == "log-density"
    assert np.ma.count_masked(ax.collections[0].get_array()) == 200


def test_plot_density_runs_without_grad_and_checks_output_shape():
    seen = []

    def log_prob(x: torch.Tensor) -> torch.Tensor:
        seen.append(torch.is_grad_enabled())
        return _standard_normal_log_prob(x)

    plotting.plot_density(log_prob, n=8)
    assert seen == [False]
    with pytest.raises(ValueError, match=r"\(64,\)"):
        plotting.plot_density(lambda x: x, n=8)


def test_plot_trajectories_2d_marks_start_and_end():
    traj = torch.randn(11, 30, 2, dtype=torch.float64, generator=_gen()).cumsum(0).requires_grad_()
    ax = plotting.plot_trajectories(traj, n_show=5, title="paths")
    assert _labelled(ax) and ax.get_title() == "paths"
    assert len(ax.lines) == 5
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["start", "end"]
    np.testing.assert_allclose(ax.collections[0].get_offsets(), traj[0, :5].detach().numpy())
    np.testing.assert_allclose(ax.collections[1].get_offsets(), traj[-1, :5].detach().numpy())


def test_plot_trajectories_1d_against_time():
    traj = torch.randn(6, 4, 1, generator=_gen())
    times = torch.linspace(0, 1, 6)
    ax = plotting.plot_trajectories(traj, times=times, show_endpoints=False)
    assert ax.get_xlabel() == "$t$" and ax.get_ylabel() == "$x$"
    assert len(ax.lines) == 4
    np.testing.assert_allclose(ax.lines[0].get_xdata(), times.numpy(), atol=1e-7)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), traj[:, 0, 0].numpy(), atol=1e-7)
    assert ax.get_legend() is None


@pytest.mark.parametrize("shape", [(5, 4), (5, 4, 3), (5,)])
def test_plot_trajectories_rejects_bad_shapes(shape):
    with pytest.raises(ValueError, match=re.escape("traj must have shape (T+1, N, d)")):
        plotting.plot_trajectories(torch.zeros(shape))


def test_plot_trajectories_rejects_bad_times():
    with pytest.raises(ValueError, match="times"):
        plotting.plot_trajectories(torch.zeros(5, 3, 1), times=torch.zeros(4))


def test_plot_vector_field_quiver_coloured_by_magnitude():
    calls = []

    def field(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        calls.append((tuple(x.shape), t.ndim, float(t)))
        return -x * (1 + t)

    ax = plotting.plot_vector_field(field, 0.5, n=7, lims=(-2, 2), title="v")
    assert calls == [((49, 2), 0, 0.5)]
    assert _labelled(ax) and ax.get_title() == "v"
    quiver = ax.collections[0]
    points, _, _ = plotting.grid_points((-2, 2), 7)
    np.testing.assert_allclose(np.asarray(quiver.get_array()).reshape(-1), 1.5 * points.norm(dim=-1).numpy(), rtol=1e-5)
    ax = plotting.plot_vector_field(field, 0.0, n=7, normalize=True)
    u, v = np.asarray(ax.collections[0].U), np.asarray(ax.collections[0].V)
    norms = np.hypot(u, v).reshape(-1)
    assert np.allclose(norms[norms > 0], 1.0)
    with pytest.raises(ValueError, match="field"):
        plotting.plot_vector_field(lambda x, t: x[:, 0], 0.0, n=4)


def test_animate_draws_every_frame_and_rejects_no_frames():
    drawn = []

    def draw(ax: Axes, i: int) -> None:
        drawn.append(i)
        ax.plot([0, i], [0, i])
        assert len(ax.lines) == 1  # the axes are cleared between frames

    anim = animation.animate(draw, 4, title="growing")
    assert isinstance(anim, FuncAnimation)
    assert anim._save_count == 4
    assert plt.get_fignums() == []  # closed: not shown twice in a notebook
    _render(anim, 4)
    assert drawn[-4:] == [0, 1, 2, 3]
    for bad in (0, -1):
        with pytest.raises(ValueError, match="n_frames"):
            animation.animate(draw, bad)


def test_animate_samples_and_to_html_embed_every_frame():
    n_frames = 3
    frames = torch.randn(n_frames, 40, 2, dtype=torch.float64, generator=_gen()).requires_grad_()
    times = torch.linspace(0, 1, n_frames)
    anim = animation.animate_samples(frames, times=times, labels=torch.arange(40) % 2)
    assert isinstance(anim, FuncAnimation) and anim._save_count == n_frames
    ax = anim._fig.axes[0]
    anim._init_draw()
    limits = []
    for i in range(n_frames):
        anim._func(i)
        limits.append((ax.get_xlim(), ax.get_ylim()))
        assert _labelled(ax) and ax.get_title() == f"t = {times[i]:.2f}"
    assert limits[0] == limits[1] == limits[2]  # fixed limits across frames
    data = frames.detach().numpy()
    assert limits[0][0][0] < data[..., 0].min() and limits[0][0][1] > data[..., 0].max()
    html = animation.to_html(anim, default_mode="loop")
    assert isinstance(html, HTML)
    assert "<script" in html.data
    assert f"new Array({n_frames})" in html.data
    assert len(re.findall(r'frames\[\d+\] = "data:image/png;base64', html.data)) == n_frames


def test_animate_samples_accepts_a_list_and_lims():
    frames = [torch.randn(10, 2, generator=_gen()) for _ in range(2)]
    anim = animation.animate_samples(frames, lims=(-5, 5), times=[0, 20], time_format="step {:.0f}")
    _render(anim, 2)
    assert anim._fig.axes[0].get_xlim() == (-5.0, 5.0)
    assert anim._fig.axes[0].get_title() == "step 20"


def test_animate_samples_limits_ignore_diverged_points():
    frames = torch.randn(3, 10, 2, generator=_gen())
    frames[2, 0] = torch.inf
    frames[1, 1] = torch.nan
    anim = animation.animate_samples(frames)
    _render(anim, 3)
    finite = frames[torch.isfinite(frames).all(-1)]
    xlim = anim._fig.axes[0].get_xlim()
    assert np.isfinite(xlim).all() and xlim[0] < finite[:, 0].min() and xlim[1] > finite[:, 0].max()


@pytest.mark.parametrize("shape", [(3, 10, 3), (3, 10)])
def test_animate_samples_rejects_bad_shapes(shape):
    with pytest.raises(ValueError, match="frames"):
        animation.animate_samples(torch.zeros(shape))


def test_animate_samples_rejects_bad_times():
    with pytest.raises(ValueError, match="times"):
        animation.animate_samples(torch.zeros(3, 10, 2), times=torch.zeros(2))


def test_animate_histograms_with_exact_densities():
    n_frames, x_grid = 3, torch.linspace(-4, 4, 50)
    stds = torch.tensor([0.5, 1.0, 1.5])
    frames = torch.randn(n_frames, 400, 1, generator=_gen()) * stds[:, None, None]
    curves = torch.exp(-0.5 * (x_grid / stds[:, None]) ** 2) / (stds[:, None] * (2 * torch.pi) ** 0.5)
    anim = animation.animate_histograms(
        frames, times=torch.tensor([0.0, 0.5, 1.0]), bins=20, range=(-4, 4), density_curves=curves, x_grid=x_grid
    )
    assert isinstance(anim, FuncAnimation) and anim._save_count == n_frames
    ax = anim._fig.axes[0]
    anim._init_draw()
    for i in range(n_frames):
        anim._func(i)
        assert _labelled(ax) and ax.get_title() == ["t = 0.00", "t = 0.50", "t = 1.00"][i]
        assert ax.get_xlim() == (-4.0, 4.0)
        assert ax.get_ylim()[1] >= curves.max().item()
        np.testing.assert_allclose(ax.lines[0].get_ydata(), curves[i].numpy(), rtol=1e-6)
    html = animation.to_html(anim)
    assert len(re.findall(r'frames\[\d+\] = "data:image/png;base64', html.data)) == n_frames


def test_animate_histograms_accepts_2d_frames_and_validates():
    anim = animation.animate_histograms(torch.randn(2, 100, generator=_gen()))
    _render(anim, 2)
    with pytest.raises(ValueError, match="frames"):
        animation.animate_histograms(torch.zeros(2, 10, 2))
    with pytest.raises(ValueError, match="x_grid"):
        animation.animate_histograms(torch.zeros(2, 10), density_curves=torch.zeros(2, 5))
    with pytest.raises(ValueError, match="density_curves"):
        animation.animate_histograms(torch.zeros(2, 10), density_curves=torch.zeros(3, 5), x_grid=torch.zeros(5))


def test_to_html_rejects_unknown_mode_and_uses_figure_dpi():
    anim = animation.animate(lambda ax, i: ax.plot([i]), 1)
    with pytest.raises(ValueError, match="default_mode"):
        animation.to_html(anim, default_mode="bounce")
    with matplotlib.rc_context({"savefig.dpi": 300}):  # a high savefig dpi must not bloat the page
        small = animation.to_html(anim).data
    big_anim = animation.animate(lambda ax, i: ax.plot([i]), 1, dpi=160)
    assert len(small) < len(animation.to_html(big_anim).data)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cuda_tensors_and_device_are_accepted():
    x = torch.randn(20, 2, device="cuda")
    assert _labelled(plotting.plot_samples(x))
    assert _labelled(plotting.plot_density(lambda p: _standard_normal_log_prob(p), n=10, device="cuda"))
    assert _labelled(plotting.plot_vector_field(lambda p, t: -p * t, 0.5, n=5, device="cuda"))
    animation.to_html(animation.animate_samples(x[None].repeat(2, 1, 1)))
