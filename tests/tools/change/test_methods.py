import numpy as np
import pytest
from scipy import ndimage as ndi

from geovigie.tools.change import methods as cm


def _bimodal(rng: np.random.Generator, n_low: int = 9000, n_high: int = 1000) -> np.ndarray:
    return np.concatenate([rng.normal(1.0, 0.4, n_low), rng.normal(6.0, 0.6, n_high)]).astype(np.float32)


@pytest.mark.parametrize("method", ["otsu", "kittler_illingworth", "kmeans"])
def test_thresholds_fall_between_the_two_modes(method):
    values = _bimodal(np.random.default_rng(1))
    t = cm.auto_threshold(values, method)
    assert 2.0 < t < 5.0
    # the high class is recovered almost exactly
    assert abs((values > t).sum() - 1000) < 60


def test_threshold_ignores_a_few_extreme_outliers():
    values = _bimodal(np.random.default_rng(2))
    with_outliers = np.concatenate([values, np.full(20, 1e6, np.float32)])
    assert abs(cm.otsu_threshold(with_outliers) - cm.otsu_threshold(values)) < 0.5


@pytest.mark.parametrize("method", ["otsu", "kittler_illingworth", "kmeans"])
def test_threshold_of_constant_or_tiny_sample_is_nan(method):
    assert np.isnan(cm.auto_threshold(np.zeros(1000, np.float32), method))
    assert np.isnan(cm.auto_threshold(np.array([1.0, 2.0], np.float32), method))
    assert np.isnan(cm.auto_threshold(np.full(100, np.nan, np.float32), method))


def test_radiometric_matching_removes_gain_and_offset():
    rng = np.random.default_rng(3)
    before = rng.uniform(0.05, 0.4, (4, 64, 64)).astype(np.float32)
    after = before * 1.3 + 0.02  # a global illumination / calibration difference, no real change
    stats = cm.radiometric_stats(before.reshape(4, -1), after.reshape(4, -1))
    matched = cm.match_after(after, stats)
    assert np.allclose(matched, before, atol=1e-4)


def test_cva_flags_a_changed_patch_and_tolerates_one_pixel_misregistration():
    rng = np.random.default_rng(4)
    before = rng.uniform(0.05, 0.4, (3, 80, 80)).astype(np.float32)
    after = np.roll(before, 1, axis=2) + rng.normal(0, 0.002, before.shape).astype(np.float32)
    after[:, 30:50, 30:50] += 0.3
    stats = cm.radiometric_stats(before.reshape(3, -1), after.reshape(3, -1))
    shifted = cm.cva_magnitude(before, after, stats, shift_radius=1, smooth_sigma=0)
    plain = cm.cva_magnitude(before, after, stats, shift_radius=0, smooth_sigma=0)
    inside = shifted[33:47, 33:47].mean()
    outside = np.median(shifted[:20, :20])
    assert inside > 5 * outside
    # the neighbourhood minimum cancels the 1-px shift that plain CVA reports as change
    assert np.median(shifted[:20, 2:20]) < 0.3 * np.median(plain[:20, 2:20])


def test_cva_is_nan_where_either_date_is_invalid():
    before = np.ones((2, 10, 10), np.float32)
    after = before.copy()
    after[0, 2, 3] = np.nan
    stats = cm.radiometric_stats(before.reshape(2, -1), before.reshape(2, -1) + 0.1)
    mag = cm.cva_magnitude(before, after, stats)
    assert np.isnan(mag[2, 3]) and np.isfinite(mag[5, 5])


def test_radiometric_stats_needs_valid_pixels():
    with pytest.raises(ValueError):
        cm.radiometric_stats(np.full((2, 5), np.nan), np.ones((2, 5)))


def test_classify_change_uses_direction_and_allowed_masks():
    mag = np.array([[0.0, 2.0, 2.0, 2.0, np.nan]], np.float32)
    direction = np.array([[1, 1, -1, -1, 1]], np.float32)
    gain_ok = np.array([[True, True, True, True, True]])
    loss_ok = np.array([[True, True, True, False, True]])
    out = cm.classify_change(mag, 1.0, direction=direction, gain_allowed=gain_ok, loss_allowed=loss_ok)
    assert out.tolist() == [[cm.NO_CHANGE, cm.GAIN, cm.LOSS, cm.NO_CHANGE, cm.NO_CHANGE]]
    assert cm.classify_change(mag, 1.0).tolist() == [[0, 1, 1, 1, 0]]


def test_clean_mask_opening_and_minimum_mapping_unit():
    mask = np.zeros((40, 40), bool)
    mask[5:15, 5:15] = True  # 100 px object
    mask[30:33, 30:33] = True  # 9 px object
    mask[20, 20] = True  # speckle
    opened = cm.clean_mask(mask, open_radius_px=1, min_pixels=1)
    assert not opened[20, 20] and opened[10, 10] and opened[31, 31]
    cleaned = cm.clean_mask(mask, open_radius_px=1, min_pixels=cm.min_pixels(1000.0, 100.0))
    assert cleaned.sum() == 100


def test_clean_mask_keeps_small_objects_on_inner_tile_edges():
    mask = np.zeros((20, 20), bool)
    mask[0:2, 8:11] = True  # touches the top edge
    assert not cm.clean_mask(mask, open_radius_px=0, min_pixels=10).any()
    kept = cm.clean_mask(mask, open_radius_px=0, min_pixels=10, keep_edges=(True, False, False, False))
    assert kept.sum() == 6


def test_clean_classes_judges_both_directions_together():
    classes = np.zeros((10, 10), np.uint8)
    classes[2:6, 2:4] = cm.GAIN
    classes[2:6, 4:6] = cm.LOSS  # 8 + 8 px: one 16 px object
    classes[0, 9] = cm.EXCLUDED
    out = cm.clean_classes(classes, open_radius_px=0, min_pixels=12)
    assert (out == cm.GAIN).sum() == 8 and (out == cm.LOSS).sum() == 8 and out[0, 9] == cm.EXCLUDED
    assert not cm.clean_classes(classes, open_radius_px=0, min_pixels=20)[2:6, 2:6].any()


def test_min_pixels_conversion():
    assert cm.min_pixels(1000.0, 100.0) == 10
    assert cm.min_pixels(50.0, 100.0) == 1
    assert cm.min_pixels(0.0, 0.25) == 1
    assert cm.min_pixels(100.0, None, fallback_px=4) == 4


@pytest.mark.parametrize("radius", [1, 2, 3])
def test_square_opening_is_scipys_binary_opening(radius):
    rng = np.random.default_rng(radius)
    size = 2 * radius + 1
    for shape in [(120, 97), (7, 5), (3, 3), (1, 9), (2, 2)]:
        for density in (0.1, 0.5, 0.9):
            mask = rng.random(shape) < density
            expected = ndi.binary_opening(mask, structure=np.ones((size, size), bool))
            got = cm.clean_mask(mask, open_radius_px=radius, min_pixels=1)
            np.testing.assert_array_equal(got, expected)
