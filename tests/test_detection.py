"""dlnotes.detection against torchvision.ops and scikit-learn, and its input checks."""

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, precision_score, recall_score
from sklearn.metrics import precision_recall_curve as sk_curve
from torchvision import ops

from dlnotes import detection as det


def random_boxes(n, gen, size=50.0):
    corner = torch.rand(n, 2, generator=gen, dtype=torch.float64) * size
    sides = torch.rand(n, 2, generator=gen, dtype=torch.float64) * size / 2 + 1
    return torch.cat([corner, corner + sides], dim=1)


def test_box_iou_matches_torchvision():
    gen = torch.Generator().manual_seed(0)
    a, b = random_boxes(30, gen), random_boxes(20, gen)
    assert torch.allclose(det.box_iou(a, b), ops.box_iou(a, b))
    assert torch.allclose(det.box_area(a), ops.box_area(a))
    unit = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    assert det.box_iou(unit, torch.tensor([[1.0, 0.0, 3.0, 2.0]])).item() == pytest.approx(1 / 3)
    assert det.box_iou(unit, torch.tensor([[5.0, 5.0, 6.0, 6.0]])).item() == 0.0


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.7, 1.0])
def test_nms_matches_torchvision(threshold):
    gen = torch.Generator().manual_seed(1)
    boxes, scores = random_boxes(80, gen, size=30.0), torch.rand(80, generator=gen, dtype=torch.float64)
    assert torch.equal(det.nms(boxes, scores, threshold), ops.nms(boxes, scores, threshold))
    classes = torch.randint(0, 4, (80,), generator=gen)
    assert torch.equal(
        det.batched_nms(boxes, scores, classes, threshold), ops.batched_nms(boxes, scores, classes, threshold)
    )


def test_precision_recall_from_counts_matches_sklearn():
    t = np.array([1] * 7 + [0] * 5)
    y = np.array([1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0])
    tp, fp, fn = 4, 2, 3
    p, r = det.precision_recall_from_counts(tp, fp, fn)
    assert p == pytest.approx(precision_score(t, y)) and r == pytest.approx(recall_score(t, y))
    assert det.precision_recall_from_counts(0, 0, 0) == (0.0, 0.0)


def test_match_detections_duplicates_and_images():
    gt = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0]])
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 0.0, 11.0, 10.0], [0.0, 0.0, 10.0, 10.0]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    assert det.match_detections(boxes, scores, gt[:1]).tolist() == [True, False, False]
    is_tp = det.match_detections(boxes, scores, gt, 0.5, torch.tensor([0, 0, 1]), torch.tensor([0, 1]))
    assert is_tp.tolist() == [True, False, True]
    assert det.match_detections(boxes, scores, gt[:0]).tolist() == [False] * 3


def sklearn_curve(scores, is_tp, num_gt):
    precision, recall, _ = sk_curve(is_tp.numpy().astype(int), scores.numpy())
    scale = is_tp.sum().item() / num_gt
    return precision[:-1], recall[:-1] * scale


@pytest.mark.parametrize("seed", range(6))
def test_average_precision_matches_sklearn(seed):
    gen = torch.Generator().manual_seed(seed)
    n = 40
    scores = torch.rand(n, generator=gen, dtype=torch.float64)
    is_tp = torch.rand(n, generator=gen) < scores.float()
    num_gt = int(is_tp.sum()) + seed
    step = det.average_precision(scores, is_tp, num_gt, "step")
    assert step == pytest.approx(
        average_precision_score(is_tp.numpy(), scores.numpy()) * is_tp.sum().item() / num_gt
    )
    precision, recall = sklearn_curve(scores, is_tp, num_gt)
    eleven = np.mean(
        [
            precision[recall >= r - 1e-12].max() if (recall >= r - 1e-12).any() else 0.0
            for r in np.linspace(0, 1, 11)
        ]
    )
    assert det.average_precision(scores, is_tp, num_gt, "11point") == pytest.approx(eleven)
    order = np.argsort(recall)
    rec, prec = recall[order], precision[order]
    envelope = np.maximum.accumulate(prec[::-1])[::-1]
    area = np.sum(np.diff(np.concatenate([[0.0], rec])) * envelope)
    assert det.average_precision(scores, is_tp, num_gt, "all") == pytest.approx(area)
    assert det.average_precision(scores, is_tp, num_gt, "all") >= step - 1e-12
    p, r = det.precision_recall_curve(scores, is_tp, num_gt)
    assert np.allclose(np.sort(p.numpy()), np.sort(np.concatenate([precision, p.numpy()[len(precision) :]])))
    assert r[-1].item() == pytest.approx(is_tp.sum().item() / num_gt)


def test_perfect_detector_and_mean_average_precision():
    gt = torch.tensor([[0.0, 0.0, 5.0, 5.0], [10.0, 10.0, 20.0, 20.0], [0.0, 0.0, 8.0, 8.0]])
    labels, images = torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1])
    scores = torch.tensor([0.9, 0.8, 0.7])
    for method in ("11point", "all", "step"):
        m, per = det.mean_average_precision(gt, scores, labels, images, gt, labels, images, 0.5, method)
        assert m == 1.0 and per == {0: 1.0, 1: 1.0}
    m, per = det.mean_average_precision(gt[:2], scores[:2], labels[:2], images[:2], gt, labels, images)
    assert per[0] == 1.0 and per[1] == pytest.approx(6 / 11) and m == pytest.approx((1 + 6 / 11) / 2)


def test_panoptic_quality_by_hand():
    gt = torch.zeros(4, 6, dtype=torch.long)
    gt[:, :2], gt[:, 3:5] = 1001, 1002
    assert det.panoptic_quality(gt, gt) == {"PQ": 1.0, "SQ": 1.0, "RQ": 1.0}
    pred = gt.clone()
    pred[:, 4] = 0
    scores = det.panoptic_quality(gt, pred)
    # stuff: IoU 8/12; things: 1001 exact, 1002 has IoU 4/8, not > 0.5: TP=1, FP=1, FN=1
    assert scores["SQ"] == pytest.approx((2 / 3 + 1.0) / 2)
    assert scores["RQ"] == pytest.approx((1.0 + 0.5) / 2)
    assert scores["PQ"] == pytest.approx((2 / 3 + 0.5) / 2)


def test_bad_input():
    good = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match="x2 >= x1"):
        det.box_iou(torch.tensor([[2.0, 0.0, 1.0, 1.0]]), good)
    with pytest.raises(ValueError, match="shape"):
        det.box_iou(torch.zeros(3, 5), good)
    with pytest.raises(TypeError, match="torch.Tensor"):
        det.box_area([[0, 0, 1, 1]])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        det.nms(good, torch.tensor([0.5]), 1.5)
    with pytest.raises(ValueError, match="one per box"):
        det.nms(good, torch.tensor([0.5, 0.4]), 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        det.match_detections(good, torch.tensor([0.5]), good, -0.1)
    with pytest.raises(ValueError, match="method"):
        det.average_precision(torch.tensor([0.5]), torch.tensor([True]), 1, "voc")
    with pytest.raises(ValueError, match="num_gt"):
        det.average_precision(torch.tensor([0.5, 0.4]), torch.tensor([True, True]), 1)
    with pytest.raises(ValueError, match="non-negative"):
        det.precision_recall_from_counts(-1, 0, 0)
    with pytest.raises(ValueError, match="same shape"):
        det.panoptic_quality(torch.zeros(2, 2, dtype=torch.long), torch.zeros(3, 2, dtype=torch.long))
