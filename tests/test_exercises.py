"""Self-checks: the references score full marks, blanks score zero, typical mistakes fail with a helpful message."""

import math

import pytest
import torch

from coursekit.course import exercises
from coursekit.course.exercises import check, get_exercise, list_exercises, run_checks
from coursekit.sde.brownian import brownian_increments

CHAPTER_1 = [
    "brownian.sample_brownian_motion",
    "sde_solvers.euler_maruyama",
    "schedules.linear_alpha_sigma",
    "langevin.langevin_dynamics",
]


def not_done(*args, **kwargs):
    raise NotImplementedError()


def test_chapter_1_exercises_registered():
    assert list_exercises("01_sde_basics") == CHAPTER_1


@pytest.mark.parametrize("exercise_id", list_exercises())
def test_reference_scores_full_marks(exercise_id):
    exercise = get_exercise(exercise_id)
    result = run_checks(exercise_id, exercise.reference)
    assert result.status == "passed", result.failed
    assert result.points == result.max_points == len(exercise.checks)


@pytest.mark.parametrize("exercise_id", list_exercises())
def test_blank_scores_zero(exercise_id, capsys):
    result = run_checks(exercise_id, not_done)
    assert result.status == "not done" and result.points == 0
    used = check(exercise_id, not_done)
    assert used is get_exercise(exercise_id).reference
    assert "[not done yet]" in capsys.readouterr().out


def _first_failure(exercise_id, fn):
    result = run_checks(exercise_id, fn)
    assert result.status == "failed"
    return result


def test_brownian_with_dt_scaling_is_caught():
    def wrong(t_grid, n_paths, d=1, *, generator=None):
        dt = t_grid[1:] - t_grid[:-1]
        z = torch.randn(dt.shape[0], n_paths, d, generator=generator, dtype=t_grid.dtype)
        return torch.cat([torch.zeros(1, n_paths, d, dtype=t_grid.dtype), (dt[:, None, None] * z).cumsum(0)])

    result = _first_failure("brownian.sample_brownian_motion", wrong)
    assert any("sqrt(t[k+1] - t[k])" in message for _, message in result.failed)


def test_brownian_ignoring_generator_is_caught():
    def wrong(t_grid, n_paths, d=1, *, generator=None):
        dt = t_grid[1:] - t_grid[:-1]
        z = torch.randn(dt.shape[0], n_paths, d, dtype=t_grid.dtype)
        return torch.cat([torch.zeros(1, n_paths, d, dtype=t_grid.dtype), (dt.sqrt()[:, None, None] * z).cumsum(0)])

    result = _first_failure("brownian.sample_brownian_motion", wrong)
    assert [name for name, _ in result.failed] == ["reproducible from a generator"]


def test_euler_maruyama_with_dt_noise_is_caught():
    def wrong(sde, x, t_grid, *, generator=None, dW=None):
        if dW is None:
            dW = brownian_increments(t_grid, x.shape[0], x.shape[1], generator=generator)
        out = [x]
        for k in range(len(t_grid) - 1):
            dt = t_grid[k + 1] - t_grid[k]
            x = x + sde.drift(x, t_grid[k]) * dt + sde.diffusion_term(x, t_grid[k]) * dW[k] * dt.abs().sqrt()
            out.append(x)
        return torch.stack(out)

    result = _first_failure("sde_solvers.euler_maruyama", wrong)
    assert "do not multiply it by sqrt(dt) again" in result.failed[0][1]


def _messages(exercise_id, fn):
    return " | ".join(message for _, message in _first_failure(exercise_id, fn).failed)


def test_euler_maruyama_with_the_drift_at_the_end_of_the_step_is_named():
    def wrong(sde, x, t_grid, *, generator=None, dW=None):
        if dW is None:
            dW = brownian_increments(t_grid, x.shape[0], x.shape[1], generator=generator)
        out = [x]
        for k in range(len(t_grid) - 1):
            t = t_grid[k + 1]  # the mistake: the end of the step
            x = x + sde.drift(x, t) * (t_grid[k + 1] - t_grid[k]) + sde.diffusion_term(x, t) * dW[k]
            out.append(x)
        return torch.stack(out)

    result = _first_failure("sde_solvers.euler_maruyama", wrong)
    failed = dict(result.failed)
    assert "at the end of the step" in failed["runs backward in time"]
    assert "runs backward" not in failed["runs backward in time"].lower()


def _reverse_step(sign=1.0, noise_power=0.5, g_power=2):
    from coursekit.diffusion.samplers import reverse_sde_step

    def step(sde, score, x, t, dt, *, generator=None, noise=None):
        if noise is None:
            return reverse_sde_step(sde, score, x, t, dt, generator=generator)
        t = torch.as_tensor(t, dtype=x.dtype)
        g = sde.diffusion(t)
        return x - (sde.drift(x, t) - sign * g**g_power * score(x, t)) * dt + g * dt**noise_power * noise

    return step


@pytest.mark.parametrize(
    "wrong, words",
    [
        (_reverse_step(sign=-1.0), "the sign of the score term is flipped"),
        (_reverse_step(noise_power=1.0), "not g dt z"),
        (_reverse_step(g_power=1), "multiplied by g^2, not g"),
    ],
)
def test_reverse_sde_step_mistakes_are_named(wrong, words):
    assert _reference_step_passes()
    assert words in _messages("samplers.reverse_sde_step", wrong)


def _reference_step_passes():
    return run_checks("samplers.reverse_sde_step", _reverse_step()).status == "passed"


def _schedule(half=True, t2_half=True, sigma="sqrt"):
    def schedule(t, beta_min=0.1, beta_max=20.0):
        t = torch.as_tensor(t, dtype=torch.float64)
        integral = beta_min * t + (0.5 if t2_half else 1.0) * (beta_max - beta_min) * t**2
        alpha = torch.exp(-(0.5 if half else 1.0) * integral)
        s = {"sqrt": torch.sqrt(1 - alpha**2), "one_minus": 1 - alpha, "sqrt_one_minus": torch.sqrt(1 - alpha)}[sigma]
        return alpha, s

    return schedule


@pytest.mark.parametrize(
    "wrong, words",
    [
        (_schedule(half=False), "the factor 1/2 is missing"),
        (_schedule(t2_half=False), "the t^2 term has a factor 1/2"),
        (_schedule(sigma="one_minus"), "not 1 - alpha_t"),
        (_schedule(sigma="sqrt_one_minus"), "not sqrt(1 - alpha_t)"),
    ],
)
def test_schedule_mistakes_are_named(wrong, words):
    assert run_checks("schedules.linear_alpha_sigma", _schedule()).status == "passed"
    assert words in _messages("schedules.linear_alpha_sigma", wrong)


def _langevin(noise_factor=2.0, drift=1.0):
    def chain(score, x, step_size, n_steps, *, generator=None, noise=None):
        if noise is None:
            noise = torch.randn(n_steps, *x.shape, generator=generator, dtype=x.dtype)
        out = [x]
        for k in range(n_steps):
            x = x + drift * step_size * score(x) + math.sqrt(noise_factor * step_size) * noise[k]
            out.append(x)
        return torch.stack(out)

    return chain


@pytest.mark.parametrize(
    "wrong, words",
    [
        (_langevin(noise_factor=1.0), "not sqrt(step_size) * z_k"),
        (_langevin(drift=0.5), "you halved it"),
    ],
)
def test_langevin_mistakes_are_named(wrong, words):
    assert run_checks("langevin.langevin_dynamics", _langevin()).status == "passed"
    assert words in _messages("langevin.langevin_dynamics", wrong)


def test_alpha_without_one_half_is_caught(capsys):
    def wrong(t, beta_min=0.1, beta_max=20.0):
        t = torch.as_tensor(t)
        alpha = torch.exp(-(beta_min * t + t**2 * (beta_max - beta_min)))
        return alpha, torch.sqrt(1 - alpha**2)

    used = check("schedules.linear_alpha_sigma", wrong)
    line = capsys.readouterr().out
    assert used is get_exercise("schedules.linear_alpha_sigma").reference
    assert line.startswith("[failed] schedules.linear_alpha_sigma:") and "alpha_t" in line and "instead" in line


def test_langevin_with_wrong_noise_scale_is_caught():
    def wrong(score, x, step_size, n_steps, *, generator=None, noise=None):
        if noise is None:
            noise = torch.randn(n_steps, *x.shape, generator=generator, dtype=x.dtype)
        chain = [x]
        for k in range(n_steps):
            x = x + step_size * score(x) + math.sqrt(step_size) * noise[k]
            chain.append(x)
        return torch.stack(chain)

    result = _first_failure("langevin.langevin_dynamics", wrong)
    assert len(result.passed) == 1  # only the shape check passes


def test_student_errors_are_reported_not_raised():
    def crashes(*args, **kwargs):
        return 1 / 0

    result = run_checks("schedules.linear_alpha_sigma", crashes)
    assert result.status == "failed" and "ZeroDivisionError" in result.failed[0][1]
    assert run_checks("schedules.linear_alpha_sigma", "not a function").points == 0


def test_passing_function_is_used(capsys):
    reference = get_exercise("langevin.langevin_dynamics").reference

    def mine(*args, **kwargs):
        return reference(*args, **kwargs)

    assert check("langevin.langevin_dynamics", mine) is mine
    assert "[passed]" in capsys.readouterr().out


def test_checks_do_not_move_the_global_rng():
    state = torch.get_rng_state()
    run_checks("brownian.sample_brownian_motion", get_exercise("brownian.sample_brownian_motion").reference)
    assert torch.equal(state, torch.get_rng_state())


def test_unknown_id_suggests_the_closest():
    with pytest.raises(KeyError, match="sde_solvers.euler_maruyama"):
        exercises.get_exercise("sde_solver.euler_maruyama")


# --- chapters 2 to 9: each typical mistake is named ------------------------------------------------


def _col(c, x):
    return torch.as_tensor(c, dtype=x.dtype).reshape(-1, 1)


def _tweedie(power=2, sign=1.0, divide=True):
    def denoise(x, score, alpha, sigma):
        a = _col(alpha, x)
        return (x + sign * _col(sigma, x) ** power * score) * (1 / a if divide else a)

    return denoise


def _dsm(reduce="sum", sigma_power=1, sign=-1.0):
    from coursekit.diffusion.dsm import dsm_loss

    def loss(model, x, sde, *, t=None, noise=None, **kwargs):
        if noise is None or kwargs:
            return dsm_loss(model, x, sde, t=t, noise=noise, **kwargs)
        alpha, sigma = (c[:, None] for c in sde.marginal_coefficients(t))
        err = (model(alpha * x + sigma**sigma_power * noise, t) + sign * noise) ** 2
        return err.mean() if reduce == "mean" else err.sum(1).mean()

    return loss


def _cloud(kind):
    from coursekit.density.point_cloud import point_cloud_score

    def score(points, x, alpha, sigma):
        if kind == "sign":
            return -point_cloud_score(points, x, alpha, sigma)
        if kind == "sigma":
            return point_cloud_score(points, x, alpha, sigma) * _col(sigma, x)
        return point_cloud_score(points, x, 1.0, sigma)

    return score


def _velocity(kind):
    from coursekit.flows.flow_matching import ideal_velocity

    def velocity(points, x, t):
        if kind == "no_t":
            return ideal_velocity(points, x, t) * _col(t, x)
        tt = _col(t, x)
        logits = -((x[:, None] - (1 - tt[:, :, None]) * points) ** 2).sum(-1) / (2 * tt)
        mean = torch.softmax(logits, 1) @ points
        return (x - mean) / tt

    return velocity


def _cfm(kind):
    from coursekit.flows.flow_matching import cfm_loss, linear_path

    def loss(field, x_data, *, x_noise=None, t=None, **kwargs):
        if x_noise is None or kwargs:
            return cfm_loss(field, x_data, x_noise=x_noise, t=t, **kwargs)
        path, target = linear_path(x_data, x_noise, t), x_noise - x_data
        if kind == "swapped":
            path = linear_path(x_noise, x_data, t)
        if kind == "sign":
            target = -target
        err = (field(path, t) - target) ** 2
        return err.mean() if kind == "mean" else err.sum(1).mean()

    return loss


def _classifier_grad(kind):
    from coursekit.guidance.classifier import classifier_log_prob_grad

    def grad(classifier, x, t, y):
        if kind == "sign":
            return -classifier_log_prob_grad(classifier, x, t, y)
        with torch.enable_grad():
            xi = x.clone().requires_grad_(True)
            logits = classifier(xi, t)
            y = torch.as_tensor(y).expand(x.shape[0])
            chosen = (logits.log_softmax(0) if kind == "axis" else logits).gather(1, y[:, None])
            return torch.autograd.grad(chosen.sum(), xi)[0]

    return grad


def _guided(kind):
    from coursekit.guidance.classifier import classifier_log_prob_grad

    def guided(score, classifier, y, scale):
        if kind == "minus":
            return lambda x, t: score(x, t) - scale * classifier_log_prob_grad(classifier, x, t, y)
        return lambda x, t: scale * score(x, t) + classifier_log_prob_grad(classifier, x, t, y)

    return guided


def _drifts():
    from coursekit.density.reverse_time import probability_flow_drift, reverse_sde_drift

    return probability_flow_drift, reverse_sde_drift


NAMED_MISTAKES = [
    ("parameterizations.denoiser_from_score", _tweedie(power=1), "has sigma^2, not sigma"),
    ("parameterizations.denoiser_from_score", _tweedie(sign=-1.0), "has a plus sign"),
    ("parameterizations.denoiser_from_score", _tweedie(divide=False), "divide by alpha, do not multiply"),
    ("diffusion.dsm_loss", _dsm(reduce="mean"), ".mean() alone also divides by d"),
    ("diffusion.dsm_loss", _dsm(sigma_power=2), "not sigma_t^2 eps"),
    ("diffusion.dsm_loss", _dsm(sign=1.0), "not -eps"),
    ("point_cloud.point_cloud_score", _cloud("sign"), "the score has the wrong sign"),
    ("point_cloud.point_cloud_score", _cloud("sigma"), "divide by sigma^2, not sigma"),
    ("point_cloud.point_cloud_score", _cloud("alpha"), "centred at alpha * y_j"),
    ("reverse_time.probability_flow_drift", _drifts()[1], "has the factor 1/2"),
    ("reverse_time.reverse_sde_drift", _drifts()[0], "has the full g^2"),
    ("flow_matching.ideal_velocity", _velocity("var_t"), "the weights use the variance t^2"),
    ("flow_matching.ideal_velocity", _velocity("no_t"), "divide by t"),
    ("flow_matching.cfm_loss", _cfm("swapped"), "t where 1 - t belongs"),
    ("flow_matching.cfm_loss", _cfm("sign"), "the target has the wrong sign"),
    ("flow_matching.cfm_loss", _cfm("mean"), "1/d times the expected one"),
    ("classifier.classifier_log_prob_grad", _classifier_grad("axis"), "over the wrong axis"),
    ("classifier.classifier_log_prob_grad", _classifier_grad("sign"), "the gradient has the wrong sign"),
    ("classifier.classifier_log_prob_grad", _classifier_grad("logit"), "you differentiate the raw logit"),
    ("guidance.classifier_guided_score", _guided("minus"), "add the classifier's gradient, do not subtract"),
    ("guidance.classifier_guided_score", _guided("scale"), "the scale multiplies the classifier's gradient"),
    ("guidance.cfg_combine", lambda c, u, w: (1 + w) * u - w * c, "the weights are swapped"),
    ("guidance.cfg_combine", lambda c, u, w: c + w * u, "extrapolates away from the unconditional"),
]


@pytest.mark.parametrize("exercise_id, wrong, words", NAMED_MISTAKES)
def test_later_chapter_mistakes_are_named(exercise_id, wrong, words):
    assert words in _messages(exercise_id, wrong)


def _ot_grad_x_only(phi, x, t):
    from coursekit.flows.ot_flow import potential_gradient

    return potential_gradient(phi, x, t)[:, :-1]


def _ot_laplacian(kind):
    from coursekit.flows.ot_flow import potential_laplacian

    def lap(phi, x, t):
        quad = (phi.A[:, : x.shape[1]] ** 2).sum()
        return potential_laplacian(phi, x, t) - quad + ((phi.A**2).sum() if kind == "time" else 0.0)

    return lap


def _ot_velocity(column, factor):
    from coursekit.flows.ot_flow import augmented_velocity

    def velocity(phi, state, t):
        out = augmented_velocity(phi, state, t).clone()
        d = state.shape[1] - 3
        cols = slice(0, d) if column == "x" else d + column
        out[:, cols] = factor * out[:, cols]
        return out

    return velocity


def _ot_map(kind):
    from coursekit.flows.gaussian_ot import ot_map_matrix, sqrtm_psd

    def a_matrix(cov0, cov1):
        if kind == "no_sqrt":
            return cov1.clone()
        if kind == "inverse":
            return ot_map_matrix(cov1, cov0)
        return sqrtm_psd(cov1) @ torch.linalg.inv(sqrtm_psd(cov0))

    return a_matrix


def _div_jacobian_sum(f, x, create_graph=False):
    with torch.enable_grad():
        y = x.clone().requires_grad_(True)
        return torch.autograd.grad(f(y).sum(), y, create_graph=create_graph)[0].sum(1)


def _hutch_summed(f, x, *, probes=None, **kwargs):
    from coursekit.flows.divergence import hutchinson_divergence

    return hutchinson_divergence(f, x, probes=probes, **kwargs) * (1 if probes is None else probes.shape[0])


def _cnf_aug_sign(velocity, state, t, **kwargs):
    from coursekit.flows.cnf import augmented_velocity

    out = augmented_velocity(velocity, state, t, **kwargs)
    return torch.cat([out[:, :-1], -out[:, -1:]], 1)


def _log_likelihood(kind):
    from types import SimpleNamespace

    from coursekit.flows.cnf import log_likelihood

    def ll(velocity, x, **kwargs):
        res = log_likelihood(velocity, x, **kwargs)
        prior = -0.5 * (res.x_noise**2).sum(1) - 0.5 * x.shape[1] * math.log(2 * math.pi)
        log_prob = 2 * prior - res.log_prob if kind == "minus" else res.log_prob - prior
        return SimpleNamespace(log_prob=log_prob, x_noise=res.x_noise)

    return ll


def _sphere(kind):
    def project(x, center, radius):
        if kind == "origin":
            return radius * x / x.norm(dim=1, keepdim=True)
        return center + radius * (x - center)

    return project


def _npe(kind):
    from coursekit.flows.path_metrics import normalized_path_energy

    def npe(trajectory, t_grid):
        if kind == "uniform":
            return normalized_path_energy(
                trajectory, torch.linspace(float(t_grid[0]), float(t_grid[-1]), len(t_grid), dtype=t_grid.dtype)
            )
        dx, dt = trajectory[1:] - trajectory[:-1], t_grid[1:] - t_grid[:-1]
        energy = ((dx**2).sum(-1) / dt[:, None]).sum(0).mean()
        chord = ((trajectory[-1] - trajectory[0]) ** 2).sum(-1).mean()
        return float(energy * (t_grid[-1] - t_grid[0]).abs() / chord)

    return npe


NAMED_MISTAKES_2 = [
    ("ot_flow.potential_gradient", _ot_grad_x_only, "return the gradient in s = (x, t)"),
    ("ot_flow.potential_laplacian", _ot_laplacian("none"), "you left out the trace of the quadratic term"),
    ("ot_flow.potential_laplacian", _ot_laplacian("time"), "over the d space coordinates only"),
    ("ot_flow.augmented_velocity", _ot_velocity("x", -1.0), "v = -grad_x Phi (minus the gradient)"),
    ("ot_flow.augmented_velocity", _ot_velocity(0, -1.0), "you have the opposite sign"),
    ("ot_flow.augmented_velocity", _ot_velocity(1, 2.0), "you forgot the 1/2"),
    ("gaussian_ot.ot_map_matrix", _ot_map("no_sqrt"), "the middle factor needs its square root"),
    ("gaussian_ot.ot_map_matrix", _ot_map("inverse"), "you return the inverse map"),
    ("gaussian_ot.ot_map_matrix", _ot_map("asymmetric"), "is not symmetric"),
    ("divergence.exact_divergence", _div_jacobian_sum, "you summed every entry of the Jacobian"),
    ("divergence.hutchinson_divergence", _hutch_summed, "you summed over the K probes"),
    ("cnf.augmented_velocity", _cnf_aug_sign, "the last column has the wrong sign"),
    ("cnf.log_likelihood", _log_likelihood("minus"), "you subtracted the integrated divergence"),
    ("cnf.log_likelihood", _log_likelihood("no_prior"), "you forgot the prior term"),
    (
        "manifolds.normal_projector",
        lambda jac: torch.eye(jac.shape[-1], dtype=jac.dtype) - _np(jac),
        "tangent projector",
    ),
    ("manifolds.normal_projector", lambda jac: jac.mT @ jac, "only when the rows of J are orthonormal"),
    ("manifolds.project_to_sphere", _sphere("scale"), "normalise x - c to unit length"),
    ("manifolds.project_to_sphere", _sphere("origin"), "the sphere around the origin"),
    ("manifolds.constraint_violation", lambda m, x: m.h(x)[:, 0], "must be non-negative"),
    ("manifolds.constraint_violation", lambda m, x: (m.h(x) ** 2).sum(1), "the squared violation"),
    ("manifolds.constraint_violation", lambda m, x: m.h(x).abs().sum(1), "not their sum"),
    ("path_metrics.normalized_path_energy", _npe("uniform"), "did you assume equal time steps?"),
    ("path_metrics.normalized_path_energy", _npe("signed_dt"), "use |dt|"),
]


def _np(jac):
    from coursekit.manifolds.constraints import normal_projector

    return normal_projector(jac)


@pytest.mark.parametrize("exercise_id, wrong, words", NAMED_MISTAKES_2)
def test_existing_later_chapter_messages_are_reached(exercise_id, wrong, words):
    assert words in _messages(exercise_id, wrong)


@pytest.mark.parametrize(
    "exercise_id, right",
    [
        ("parameterizations.denoiser_from_score", _tweedie()),
        ("diffusion.dsm_loss", _dsm()),
        ("flow_matching.cfm_loss", _cfm("right")),
        ("manifolds.project_to_sphere", lambda x, c, r: c + r * (x - c) / (x - c).norm(dim=1, keepdim=True)),
    ],
)
def test_hand_written_right_answers_pass(exercise_id, right):
    assert run_checks(exercise_id, right).status == "passed"
