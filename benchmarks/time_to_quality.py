"""How long each training recipe takes to reach good images, by two clocks, from a cold start.

Each recipe trains in a fresh Python process (as a user's `train` command does) for a budget
of training seconds with the project's train step; every `--eval-every` seconds of training
the clocks stop while 1,000 samples are scored with the project's classifier of the dataset
(classifier score, Fréchet distance). For the first point reaching `--target` (9.0) it
prints both clocks:

- training: seconds of training updates (and the setup: building the models, fitting the
  k-means clusters), the tracing of the step and the scoring excluded;
- wall-clock: from the moment the process was launched (Python and TensorFlow start-up,
  reading the data, tracing included) to the moment that generator would be saved
  (the time of saving it, measured at the end, is added; the scoring and the set-up of the
  judge, its classifier and SciPy, are excluded).

`--baseline COMMIT` runs the same recipes with the code of an earlier commit too (a
`git worktree` of it, in the same run), so the two clocks compare code, not days.
`--fixed-cost` also times the `train --preset fast` command itself against
`python -c "import tensorflow"`: its fixed cost is its wall-clock minus its training time.
The commands run in `--fixed-cost-rounds` interleaved rounds (each once per round, so a drift
of the machine's speed touches all alike); the table gives medians, and the ratio to the
import as the median and range of the rounds' ratios.

The GANs train on the images the classifier was trained on (MNIST: test images 0..7999
here, the held-out 8000..9999 being the reference; Fashion-MNIST: the 60,000 training
images, the 10,000 test images being the reference).

    python benchmarks/time_to_quality.py --data-dir ../shared/data/mnist --budget 300
    python benchmarks/time_to_quality.py --recipes fast --budget 60 --eval-every 5 \\
        --baseline 8ab5def --fixed-cost --data-dir ../shared/data/mnist
    python benchmarks/time_to_quality.py --recipes --baseline 8ab5def --fixed-cost 0.5 \\
        --fixed-cost-rounds 5 --data-dir ../shared/data/mnist
    python benchmarks/time_to_quality.py --dataset fashion_mnist --budget 300
    python benchmarks/time_to_quality.py --recipes fast fast_400_clusters --data-dir ../shared/data/mnist
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from recipes import RECIPES, parse_recipe

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LAUNCHED_ENV = "TTQ_LAUNCHED"  # time.time() when the parent launched this worker

DEFAULT_RECIPES = ["tutorial", "fast_unconditional", "fast"]


# --------------------------------------------------------------------------- the worker
def ablation_variant(name: str):
    """(spec, registry model whose settings it trains with) of ablation.py's variant `name`."""
    sys.path.insert(0, HERE)
    try:
        from ablation import variant
        make_spec, model = variant(name)
    except ImportError as e:  # --baseline: an older commit's package lacks what ablation.py needs
        raise SystemExit(f"{name}: ablation.py's variants run with this checkout's code only ({e})") from None
    except argparse.ArgumentTypeError as e:
        raise SystemExit(f"{name}: not a model or recipe; {e}") from None
    return make_spec(), model


def worker(args: argparse.Namespace) -> None:
    """One recipe in this (fresh) process; writes its points and clocks to `args.worker_out`."""
    launched = float(os.environ.get(LAUNCHED_ENV, time.time()))
    try:
        from dcgan_helpers.quiet import import_tensorflow
    except ImportError:  # an older commit's code (--baseline): TF_CPP_MIN_LOG_LEVEL is set
        import tensorflow  # noqa: F401
    else:
        import inspect

        # as the command line imports it (an older commit's code, --baseline: as its command line did)
        known = inspect.signature(import_tensorflow).parameters
        lighter = next((name for name in ("without_keras_extras", "without_keras_sklearn_wrappers")
                        if name in known), None)
        import_tensorflow(**({lighter: True} if lighter else {}))
    import numpy as np

    from dcgan_helpers.config import TrainConfig

    images, labels, reference = _gan_data(args.dataset, args.data_dir)
    judge_started = time.perf_counter()  # the judge's set-up is the benchmark's, not training's
    # Imported here, off the clock, for every version alike: the judge's module and its SciPy,
    # which a `train` command imports only when it scores (an older commit's timed.py imports
    # it at the top, this one's does not).
    from dcgan_helpers.evaluation.metrics import Evaluator
    classifier = _classifier(args.dataset)
    if len(reference) >= 4 * args.num:
        # Enough held-out images (Fashion-MNIST's 10,000): score `num` of them exactly as a
        # generator's samples are scored, against the rest, so the real row compares like with like.
        real, reference = reference[-args.num:], reference[:-args.num]
        evaluator = Evaluator(reference, images, classifier)
        ref = {**evaluator.evaluate(real), "how": f"{len(real)} held-out images scored as samples "
                                                 f"against the other {len(reference)}"}
    else:  # MNIST's 2,000: the two halves of the reference against each other (1,000 each)
        evaluator = Evaluator(reference, images, classifier)
        ref = {**evaluator.reference_figures(), "how": f"the two halves of the {len(reference)} "
                                                       f"held-out images against each other"}

    off_clock = [time.perf_counter() - judge_started]  # seconds spent judging, left off the wall-clock
    from dcgan_helpers import timed  # the training loop (its judge is imported above)

    def timed_call(fn):
        def wrapper(*a, **k):
            start = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                off_clock[0] += time.perf_counter() - start
        return wrapper

    timed.generate = timed_call(timed.generate)  # the samples drawn for scoring
    evaluator.evaluate = timed_call(evaluator.evaluate)
    walls: list[float] = []

    def on_point(p) -> None:
        walls.append(time.time() - launched - off_clock[0])
        print(f"  {p.seconds:6.1f}s  step {p.steps:6d}  score {p.classifier_score:5.2f}  "
              f"FD {p.frechet_distance:8.2f}", flush=True)

    from dcgan_helpers.models import get_spec, model_names

    fields = json.loads(args.worker)
    if "preset" in fields:  # the model `train --preset` picks for this dataset
        try:
            from dcgan_helpers.models import preset_model
        except ImportError:  # an older commit's code (--baseline): its preset fast was model fast
            fields["model"] = fields.pop("preset")
        else:
            fields["model"] = preset_model(fields.pop("preset"), args.dataset)
    fields.setdefault("seed", 0)  # reproducible: a recipe without seed= trains with seed 0
    spec = None  # a registry model's; else one of ablation.py's variants (fast_400_clusters, ...)
    if fields["model"] not in model_names():
        spec, fields["model"] = ablation_variant(fields["model"])
    cfg = TrainConfig(**fields)
    conditional = getattr(spec or get_spec(cfg.model), "needs_labels", False)  # fast_conditional
    run = timed.train_for_time(cfg, images, evaluator, args.budget, args.eval_every,
                               num_samples=args.num, on_point=on_point,
                               stop_at_score=args.target if args.stop_at_target else None,
                               **({"labels": labels} if conditional else {}),
                               **({"spec": spec} if spec is not None else {}))
    save_seconds = _save_seconds(run.sampler)
    r = run.config
    out = {
        "settings": f"model {r.model}, seed {r.seed}, batch {r.batch_size}, lr G {r.lr_g:g} D {r.lr_d:g}, beta1 {r.beta1}",
        "points": [{**p.__dict__, "wall": w + save_seconds} for p, w in zip(run.points, walls)],
        "diverged_at": run.diverged_at, "save_seconds": save_seconds,
        "reference": {k: ref[k] for k in ("classifier_score", "frechet_distance", "how")},
    }
    if run.samples is not None:
        np.save(args.worker_out + ".npy", run.samples[:64])
    with open(args.worker_out, "w") as f:
        json.dump(out, f)


def _gan_data(dataset: str, data_dir: str | None):
    """(GAN training images, their labels, reference images): the classifier's training and
    held-out slices."""
    from dcgan_helpers.evaluation import data as evaluation_data
    from dcgan_helpers.evaluation.classifier import load_provenance

    if dataset == "mnist":
        provenance = load_provenance()["data"]
    else:
        provenance = load_provenance(dataset=dataset)["data"]
    load = getattr(evaluation_data, "load_splits", None)
    if load is not None:
        splits = load(data_dir, dataset)
    else:  # an older commit's code (--baseline) knows MNIST only
        splits = evaluation_data.load_mnist_splits(data_dir)
    slices = [evaluation_data.Slice(str(d["split"]), int(d["start"]), int(d["stop"]))
              for d in (provenance["train"], provenance["heldout"])]
    (images, labels), (reference, _) = (s.take(*splits[s.split]) for s in slices)
    return images, labels, reference


def _classifier(dataset: str):
    from dcgan_helpers.evaluation.classifier import load_classifier

    return load_classifier() if dataset == "mnist" else load_classifier(dataset=dataset)


def _save_seconds(generator) -> float:
    """Seconds to save `generator` as .keras, the way a run's generator.keras is written."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        generator.save(os.path.join(tmp, "generator.keras"))
        return time.perf_counter() - start


# --------------------------------------------------------------------------- the parent
@contextlib.contextmanager
def code_at(commit: str | None):
    """A folder holding the package as of `commit` (a temporary git worktree), or this checkout."""
    if commit is None:
        yield ROOT
        return
    tmp = tempfile.mkdtemp(prefix="ttq-baseline-")
    path = os.path.join(tmp, "code")
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", path, commit],
                   check=True, capture_output=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", path], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


def _env(code: str) -> dict:
    env = dict(os.environ, PYTHONPATH=code, TF_CPP_MIN_LOG_LEVEL="3")
    env[LAUNCHED_ENV] = repr(time.time())
    return env


def run_worker(code: str, recipe: dict, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(recipe),
               "--worker-out", out, "--dataset", args.dataset, "--budget", str(args.budget),
               "--eval-every", str(args.eval_every), "--num", str(args.num),
               "--target", str(args.target or 0)]
        if args.data_dir:
            cmd += ["--data-dir", os.path.abspath(args.data_dir)]
        if args.stop_at_target:
            cmd.append("--stop-at-target")
        proc = subprocess.run(cmd, env=_env(code), cwd=code)
        if proc.returncode or not os.path.exists(out):
            raise SystemExit(f"the worker for {recipe} failed (exit {proc.returncode})")
        with open(out) as f:
            result = json.load(f)
        if os.path.exists(out + ".npy"):
            import numpy as np

            result["samples"] = np.load(out + ".npy")
        return result


def time_import_tensorflow() -> float:
    """Wall-clock seconds of `python -c "import tensorflow"` in a fresh process."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tensorflow"], check=True,
                   env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), capture_output=True)
    return time.perf_counter() - start


def time_fixed_costs(codes: list[tuple[str, str]], args: argparse.Namespace, minutes: float,
                     rounds: int) -> tuple[list[float], dict[str, list[dict]]]:
    """`rounds` rounds of: `import tensorflow`, then `train --preset fast` with each code.

    Interleaved, so that a drift of the machine's speed (2-4x between days, and more than
    the differences measured within a day) touches every command alike. Returns the import
    times and, per code tag, each round's `time_train_command` result (in the same order).
    """
    imports, runs = [], {tag: [] for tag, _ in codes}
    for r in range(rounds):
        imports.append(time_import_tensorflow())
        for tag, code in codes:
            runs[tag].append(time_train_command(code, args, minutes))
        print(f"  fixed-cost round {r + 1}/{rounds}: import {imports[-1]:.1f} s; " + "; ".join(
            f"train{tag} {runs[tag][-1]['wall']:.1f} s wall, {runs[tag][-1]['training']:.1f} s training"
            for tag, _ in codes), flush=True)
    return imports, runs


def time_train_command(code: str, args: argparse.Namespace, minutes: float) -> dict:
    """`train --preset fast` as a user runs it, timed from launch; its training time from log.csv."""
    import csv

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run")
        cmd = [sys.executable, "-m", "dcgan_helpers", "train", "--preset", "fast",
               "--dataset", args.dataset, "--max-minutes", str(minutes), "--seed", "0",
               "--out", out, "--no-progress"]
        if args.data_dir:
            cmd += ["--data-dir", os.path.abspath(args.data_dir)]
        if args.dataset == "mnist" and _test_only(args.data_dir):
            cmd += ["--limit", "8000"]  # the classifier's training slice, as the recipes train on
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=_env(code), cwd=code, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode:
            raise SystemExit(f"train failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
        with open(os.path.join(out, "log.csv"), newline="") as f:
            last = list(csv.DictReader(f))[-1]
        return {"wall": wall, "training": float(last["seconds"]), "steps": int(last["step"])}


def _test_only(data_dir: str | None) -> bool:
    folder = data_dir or os.environ.get("DCGAN_DATA_DIR")
    return bool(folder) and not any(n.startswith("train-images") for n in os.listdir(folder))


def first_reaching(points: list[dict], target: float) -> dict | None:
    return next((p for p in points if p["classifier_score"] >= target), None)


def print_quality(results: dict, args: argparse.Namespace) -> None:
    """The table of both clocks to the target and the final figures, one row per recipe."""
    ref = next(iter(results.values()))["reference"]
    real = "real digits" if args.dataset == "mnist" else "real images"
    t = format(args.target, "g")
    print(f"\n{'recipe':<30}{'training s to ' + t:>17}{'wall s to ' + t:>13}{'updates then':>14}"
          f"{'FD then':>9}{'final score':>13}{'final FD':>10}{'updates':>9}")
    for name, r in results.items():
        hit, last = first_reaching(r["points"], args.target), (r["points"] or [None])[-1]
        then = (f"{hit['seconds']:>17.1f}{hit['wall']:>13.1f}{hit['steps']:>14}{hit['frechet_distance']:>9.1f}"
                if hit else f"{'not reached':>17}{'-':>13}{'-':>14}{'-':>9}")
        final = (f"{last['classifier_score']:>13.2f}{last['frechet_distance']:>10.1f}{last['steps']:>9}"
                 if last else f"{'-':>13}{'-':>10}{0:>9}")
        print(f"{name:<30}{then}{final}")
    print(f"{real + ' (held out)':<30}{'':>17}{'':>13}{'':>14}{'':>9}"
          f"{ref['classifier_score']:>13.2f}{ref['frechet_distance']:>10.1f}")
    print(f"({real}: {ref.get('how', 'the reference')}; scores of 1,000 samples every "
          f"{args.eval_every:g} s of training)")
    for name, r in results.items():
        if r["points"]:
            last = r["points"][-1]
            print(f"{name}: final score {last['classifier_score'] - ref['classifier_score']:+.2f} "
                  f"against the {real}, Fréchet distance {last['frechet_distance'] / ref['frechet_distance']:.1f}x "
                  f"theirs, after {last['steps']} updates")
    if args.baseline:
        for text in args.recipes:
            new, old = (first_reaching(results[text + s]["points"], args.target)
                        for s in ("", f" @ {args.baseline}"))
            if new and old:
                print(f"{text}: wall-clock to {t} is {new['wall'] / old['wall']:.2f}x that of "
                      f"{args.baseline} ({new['wall']:.1f} s against {old['wall']:.1f} s), "
                      f"{new['steps']} updates against {old['steps']}")


def print_fixed_costs(imports: list[float], runs: dict[str, list[dict]]) -> None:
    """Medians over the rounds; fixed cost / import is each round's ratio, median and range."""
    med = statistics.median
    rounds = f"{len(imports)} round" + ("s" if len(imports) > 1 else "")
    print(f"\n{'command (median of ' + rounds + ')':<38}{'wall s':>8}{'training s':>12}"
          f"{'fixed s':>9}{'fixed / import':>16}{'range':>13}{'updates':>9}")
    name = 'python -c "import tensorflow"'
    print(f"{name:<38}{med(imports):>8.1f}{'':>12}{med(imports):>9.1f}{1:>16.2f}{'':>13}")
    for tag, rows in runs.items():
        ratios = [(r["wall"] - r["training"]) / seconds for r, seconds in zip(rows, imports)]
        name = "train --preset fast" + tag
        print(f"{name:<38}{med(r['wall'] for r in rows):>8.1f}{med(r['training'] for r in rows):>12.1f}"
              f"{med(r['wall'] - r['training'] for r in rows):>9.1f}{med(ratios):>16.2f}"
              f"{min(ratios):>7.2f}-{max(ratios):<5.2f}{int(med(r['steps'] for r in rows)):>9}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="*", default=DEFAULT_RECIPES,
                        help=f"names ({', '.join(RECIPES)}), model:key=value,... or a variant of "
                             f"ablation.py (fast_400_clusters, ...) "
                             f"(default: {' '.join(DEFAULT_RECIPES)}; none with --fixed-cost: "
                             f"only the commands' fixed cost)")
    parser.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default="mnist")
    parser.add_argument("--data-dir", default=os.environ.get("DCGAN_DATA_DIR"),
                        help="the dataset's IDX folder (default: $DCGAN_DATA_DIR; Fashion-MNIST "
                             "also finds Debian's copy)")
    parser.add_argument("--budget", type=float, default=300, help="training seconds per recipe")
    parser.add_argument("--eval-every", type=float, default=30, help="training seconds between scores")
    parser.add_argument("--target", type=float,
                        help="classifier score to reach (default: 9.0 on MNIST; on Fashion-MNIST "
                             "the real held-out images' score minus 0.5)")
    parser.add_argument("--num", type=int, default=1000, help="samples per evaluation")
    parser.add_argument("--stop-at-target", action="store_true", help="stop a recipe once it scores --target")
    parser.add_argument("--baseline", metavar="COMMIT",
                        help="also run the recipes with the code of this commit (e.g. 8ab5def)")
    parser.add_argument("--fixed-cost", type=float, nargs="?", const=0.5, metavar="MINUTES",
                        help="also time `train --preset fast --max-minutes MINUTES` (default 0.5) "
                             "against `python -c 'import tensorflow'`")
    parser.add_argument("--fixed-cost-rounds", type=int, default=3, metavar="N",
                        help="rounds of the fixed-cost timing, each command once per round (default 3)")
    parser.add_argument("--json", help="also write the curves as JSON")
    parser.add_argument("--grids", help="folder for each recipe's final 8x8 sample grid (PNG)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if not args.recipes and not args.fixed_cost:
        raise SystemExit("nothing to run: name --recipes, or ask for --fixed-cost")
    if args.fixed_cost_rounds < 1:
        raise SystemExit("--fixed-cost-rounds must be at least 1")
    if args.stop_at_target and args.target is None and args.dataset != "mnist":
        raise SystemExit("--stop-at-target needs --target on this dataset")
    if args.target is None and args.dataset == "mnist":
        args.target = 9.0
    if args.dataset != "mnist" and args.data_dir == os.environ.get("DCGAN_DATA_DIR"):
        args.data_dir = None  # $DCGAN_DATA_DIR is the loader's to interpret (it may hold MNIST)

    import platform

    versions = [(None, "")] + ([(args.baseline, f" @ {args.baseline}")] if args.baseline else [])
    what = (f"{args.budget:g} s of training per recipe, scored every {args.eval_every:g} s" if args.recipes
            else f"the fixed cost of `train --preset fast --max-minutes {args.fixed_cost:g}`, "
                 f"{args.fixed_cost_rounds} rounds")
    print(f"{args.dataset}: {what}; {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}); "
          f"started {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", flush=True)
    results = {}
    with contextlib.ExitStack() as stack:  # each version's code checked out once, for both parts
        codes = [(tag, stack.enter_context(code_at(commit))) for commit, tag in versions]
        for tag, code in codes:
            for text in args.recipes:
                name = text + tag
                print(f"{name}:", flush=True)
                results[name] = run_worker(code, parse_recipe(text), args)
                r = results[name]
                print(f"  {r['settings']}" + (f"; diverged after {r['diverged_at']:.0f}s"
                                               if r["diverged_at"] is not None else ""), flush=True)
        if args.fixed_cost:
            imports, fixed = time_fixed_costs(codes, args, args.fixed_cost, args.fixed_cost_rounds)
    if results:
        if args.target is None:  # Fashion-MNIST: the real held-out images' score minus 0.5
            args.target = round(next(iter(results.values()))["reference"]["classifier_score"] - 0.5, 2)
        print_quality(results, args)
    if args.fixed_cost:
        print_fixed_costs(imports, fixed)
    if args.grids and results:
        from dcgan_helpers.images import save_grid

        for name, r in results.items():
            if "samples" in r:
                prefix = "" if args.dataset == "mnist" else f"{args.dataset}_"
                file = f"{prefix}{name.replace(':', '_').replace(' @ ', '_at_')}.png"
                save_grid(r["samples"], os.path.join(args.grids, file), cols=8)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({k: v["points"] for k, v in results.items()}, f, indent=1)


if __name__ == "__main__":
    main()
