"""Object detection and segmentation metrics from scratch: IoU, NMS, matching, AP, mAP and PQ.

Boxes are ``(x1, y1, x2, y2)`` corners ("xyxy", torchvision's convention) with ``x1 <= x2`` and
``y1 <= y2``, one row per box. ``tests/test_detection.py`` compares these functions with
``torchvision.ops.box_iou``, ``torchvision.ops.nms`` / ``batched_nms`` and scikit-learn's
``precision_recall_curve`` / ``average_precision_score``.

Average precision (AP) summarises the precision-recall curve of one class:

- ``"11point"`` (PASCAL VOC 2007): the mean over the recall levels ``r = 0, 0.1, ..., 1`` of the
  interpolated precision ``max {precision at recall >= r}`` (0 where no such recall is reached);
- ``"all"`` (PASCAL VOC 2010 on): the area under the interpolated (monotone) curve, every recall
  level counted;
- ``"step"``: the non-interpolated sum ``sum_n (R_n - R_{n-1}) P_n`` over the ranked detections,
  the form of scikit-learn's ``average_precision_score``.
"""

from __future__ import annotations

import torch

__all__ = [
    "box_area",
    "box_iou",
    "nms",
    "batched_nms",
    "precision_recall_from_counts",
    "match_detections",
    "precision_recall_curve",
    "average_precision",
    "mean_average_precision",
    "panoptic_quality",
]

_METHODS = ("11point", "all", "step")


def _boxes(name: str, boxes: object) -> torch.Tensor:
    if not isinstance(boxes, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, 4), got {type(boxes).__name__}")
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(
            f"{name} must have shape (N, 4) with rows (x1, y1, x2, y2), got {tuple(boxes.shape)}"
        )
    if not boxes.is_floating_point():
        boxes = boxes.double()
    if not torch.isfinite(boxes).all():
        raise ValueError(f"{name} must hold finite coordinates")
    if (boxes[:, 2] < boxes[:, 0]).any() or (boxes[:, 3] < boxes[:, 1]).any():
        raise ValueError(f"{name} must have x2 >= x1 and y2 >= y1 in every row (xyxy corners)")
    return boxes


def _scores(name: str, scores: object, n: int) -> torch.Tensor:
    if not isinstance(scores, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(scores).__name__}")
    if scores.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one per box, got {tuple(scores.shape)}")
    return scores


def _threshold(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number in [0, 1], got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return float(value)


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """The area ``(x2 - x1) (y2 - y1)`` of each box."""
    boxes = _boxes("boxes", boxes)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def box_iou(boxes1: torch.Tensor, boxes2: torch.Tensor) -> torch.Tensor:
    """The ``(N, M)`` intersection over union of each box of ``boxes1`` with each box of ``boxes2``.

    ``IoU(A, B) = area(A and B) / area(A or B)``, with
    ``area(A or B) = area(A) + area(B) - area(A and B)``; 0 for disjoint boxes. Two boxes of zero
    area give ``0 / 0 = nan``, as in torchvision.
    """
    a, b = _boxes("boxes1", boxes1), _boxes("boxes2", boxes2)
    left_top = torch.maximum(a[:, None, :2], b[None, :, :2])
    right_bottom = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    sides = (right_bottom - left_top).clamp(min=0)
    inter = sides[..., 0] * sides[..., 1]
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return inter / union


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy non-maximum suppression: the indices of the kept boxes, by decreasing score.

    Repeat: take the remaining box with the highest score, keep it, and remove every remaining
    box whose IoU with it is greater than ``iou_threshold``. Same result as
    ``torchvision.ops.nms`` (for distinct scores).
    """
    boxes = _boxes("boxes", boxes)
    scores = _scores("scores", scores, len(boxes))
    iou_threshold = _threshold("iou_threshold", iou_threshold)
    remaining = torch.argsort(scores, descending=True, stable=True)
    keep = []
    while len(remaining) > 0:
        best = remaining[0]
        keep.append(int(best))
        rest = remaining[1:]
        overlap = box_iou(boxes[best][None], boxes[rest])[0]
        remaining = rest[~(overlap > iou_threshold)]
    return torch.tensor(keep, dtype=torch.long)


def batched_nms(
    boxes: torch.Tensor, scores: torch.Tensor, classes: torch.Tensor, iou_threshold: float
) -> torch.Tensor:
    """NMS within each class separately (boxes of different classes never suppress each other).

    Returns the kept indices by decreasing score, like ``torchvision.ops.batched_nms``.
    """
    boxes = _boxes("boxes", boxes)
    scores = _scores("scores", scores, len(boxes))
    if not isinstance(classes, torch.Tensor) or classes.shape != (len(boxes),):
        raise ValueError(f"classes must be a tensor of shape ({len(boxes)},), one class per box")
    kept = []
    for c in torch.unique(classes):
        index = torch.nonzero(classes == c).flatten()
        kept.append(index[nms(boxes[index], scores[index], iou_threshold)])
    if not kept:
        return torch.zeros(0, dtype=torch.long)
    kept = torch.cat(kept)
    return kept[torch.argsort(scores[kept], descending=True, stable=True)]


def precision_recall_from_counts(tp: int, fp: int, fn: int) -> tuple[float, float]:
    """``(TP / (TP + FP), TP / (TP + FN))``; 0 over 0 gives 0 (as ``zero_division=0``)."""
    for name, value in (("tp", tp), ("fp", fp), ("fn", fn)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    precision = tp / (tp + fp) if tp + fp > 0 else 0.0
    recall = tp / (tp + fn) if tp + fn > 0 else 0.0
    return precision, recall


def match_detections(
    det_boxes: torch.Tensor,
    det_scores: torch.Tensor,
    gt_boxes: torch.Tensor,
    iou_threshold: float = 0.5,
    det_images: torch.Tensor | None = None,
    gt_images: torch.Tensor | None = None,
) -> torch.Tensor:
    """Which detections (of one class) are true positives: a bool tensor, one entry per detection.

    Detections are visited by decreasing score. Each is matched to the ground-truth box of the
    same image with which it has the largest IoU; it is a true positive if that IoU is at least
    ``iou_threshold`` and that ground truth is not matched yet, otherwise a false positive (a
    second detection of the same object counts as a false positive, as in PASCAL VOC and COCO).
    ``det_images`` / ``gt_images`` give each box's image id (default: all in one image).
    """
    det_boxes, gt_boxes = _boxes("det_boxes", det_boxes), _boxes("gt_boxes", gt_boxes)
    det_scores = _scores("det_scores", det_scores, len(det_boxes))
    iou_threshold = _threshold("iou_threshold", iou_threshold)
    det_images = torch.zeros(len(det_boxes), dtype=torch.long) if det_images is None else det_images
    gt_images = torch.zeros(len(gt_boxes), dtype=torch.long) if gt_images is None else gt_images
    if det_images.shape != (len(det_boxes),) or gt_images.shape != (len(gt_boxes),):
        raise ValueError("det_images and gt_images must hold one image id per box")
    is_tp = torch.zeros(len(det_boxes), dtype=torch.bool)
    if len(gt_boxes) == 0:
        return is_tp
    iou = box_iou(det_boxes, gt_boxes)
    iou[det_images[:, None] != gt_images[None, :]] = -1.0
    taken = torch.zeros(len(gt_boxes), dtype=torch.bool)
    for d in torch.argsort(det_scores, descending=True, stable=True):
        best_iou, best = iou[d].max(dim=0)
        if best_iou >= iou_threshold and not taken[best]:
            is_tp[d] = True
            taken[best] = True
    return is_tp


def _ranked(scores: torch.Tensor, is_tp: torch.Tensor, num_gt: int) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(is_tp, torch.Tensor) or is_tp.dim() != 1:
        raise ValueError("is_tp must be a 1-D tensor, one entry per detection")
    scores = _scores("scores", scores, len(is_tp))
    if isinstance(num_gt, bool) or not isinstance(num_gt, int) or num_gt < 1:
        raise ValueError(
            f"num_gt must be a positive int (the number of ground-truth objects), got {num_gt!r}"
        )
    if int(is_tp.sum()) > num_gt:
        raise ValueError(f"{int(is_tp.sum())} true positives cannot exceed num_gt={num_gt}")
    order = torch.argsort(scores, descending=True, stable=True)
    hits = is_tp[order].double()
    tp = torch.cumsum(hits, 0)
    precision = tp / torch.arange(1, len(hits) + 1, dtype=torch.float64)
    recall = tp / num_gt
    return precision, recall


def precision_recall_curve(
    scores: torch.Tensor, is_tp: torch.Tensor, num_gt: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Precision and recall after each detection, the detections ranked by decreasing score.

    Recall divides by ``num_gt``, all ground-truth objects of the class, so objects that no
    detection found keep the recall below 1.
    """
    return _ranked(scores, is_tp, num_gt)


def average_precision(
    scores: torch.Tensor, is_tp: torch.Tensor, num_gt: int, method: str = "11point"
) -> float:
    """The AP of one class from its ranked detections: ``"11point"``, ``"all"`` or ``"step"`` (see top)."""
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    precision, recall = _ranked(scores, is_tp, num_gt)
    if method == "step":
        previous = torch.cat([torch.zeros(1, dtype=torch.float64), recall[:-1]])
        return float(((recall - previous) * precision).sum())
    if method == "11point":
        total = 0.0
        for r in torch.linspace(0, 1, 11, dtype=torch.float64):
            reached = recall >= r - 1e-12
            total += float(precision[reached].max()) if reached.any() else 0.0
        return total / 11
    envelope = torch.flip(torch.cummax(torch.flip(precision, [0]), 0).values, [0])
    previous = torch.cat([torch.zeros(1, dtype=torch.float64), recall[:-1]])
    return float(((recall - previous) * envelope).sum())


def mean_average_precision(
    det_boxes: torch.Tensor,
    det_scores: torch.Tensor,
    det_labels: torch.Tensor,
    det_images: torch.Tensor,
    gt_boxes: torch.Tensor,
    gt_labels: torch.Tensor,
    gt_images: torch.Tensor,
    iou_threshold: float = 0.5,
    method: str = "11point",
) -> tuple[float, dict[int, float]]:
    """mAP: the mean over the classes of the ground truth of each class's AP; also the per-class APs.

    Each class is matched (``match_detections``) and scored (``average_precision``) on its own.
    """
    if not all(isinstance(x, torch.Tensor) for x in (det_labels, det_images, gt_labels, gt_images)):
        raise TypeError("labels and image ids must be tensors")
    per_class = {}
    for c in torch.unique(gt_labels).tolist():
        d, g = det_labels == c, gt_labels == c
        is_tp = match_detections(
            det_boxes[d], det_scores[d], gt_boxes[g], iou_threshold, det_images[d], gt_images[g]
        )
        num_gt = int(g.sum())
        per_class[int(c)] = average_precision(det_scores[d], is_tp, num_gt, method) if d.any() else 0.0
    if not per_class:
        raise ValueError("gt_labels is empty: mAP needs at least one ground-truth object")
    return sum(per_class.values()) / len(per_class), per_class


def panoptic_quality(gt: torch.Tensor, pred: torch.Tensor, label_divisor: int = 1000) -> dict[str, float]:
    """Panoptic quality of Kirillov et al. (2019), averaged over the classes of the ground truth.

    ``gt`` and ``pred`` are integer maps of the same shape whose value is
    ``class * label_divisor + instance``: each value is one segment (a "stuff" class has one
    segment, instance 0). A predicted and a ground-truth segment of the same class match when
    their IoU is greater than 0.5 (such a match is unique). Per class,
    ``PQ = sum of matched IoUs / (TP + FP / 2 + FN / 2) = SQ * RQ``. Returns ``PQ``, ``SQ``, ``RQ``.
    """
    for name, m in (("gt", gt), ("pred", pred)):
        if not isinstance(m, torch.Tensor) or m.is_floating_point():
            raise TypeError(f"{name} must be an integer tensor of segment ids")
    if gt.shape != pred.shape:
        raise ValueError(
            f"gt and pred must have the same shape, got {tuple(gt.shape)} and {tuple(pred.shape)}"
        )
    scores = {"PQ": [], "SQ": [], "RQ": []}
    for c in torch.unique(gt // label_divisor).tolist():
        gt_ids = [s for s in torch.unique(gt).tolist() if s // label_divisor == c]
        pred_ids = [s for s in torch.unique(pred).tolist() if s // label_divisor == c]
        ious = []
        for g in gt_ids:
            for p in pred_ids:
                inter = int(((gt == g) & (pred == p)).sum())
                union = int(((gt == g) | (pred == p)).sum())
                if inter / union > 0.5:
                    ious.append(inter / union)
        tp = len(ious)
        fp, fn = len(pred_ids) - tp, len(gt_ids) - tp
        sq = sum(ious) / tp if tp else 0.0
        rq = tp / (tp + fp / 2 + fn / 2)
        scores["PQ"].append(sq * rq)
        scores["SQ"].append(sq)
        scores["RQ"].append(rq)
    return {k: sum(v) / len(v) for k, v in scores.items()}
