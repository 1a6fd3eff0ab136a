import pytest

torch = pytest.importorskip("torch", reason="torch (extra 'train') is needed to build the OSCD network")

from geovigie.tools.models.oscd_net import SiamDiffUNet, parameter_count  # noqa: E402


def test_network_builds_and_maps_two_dates_to_one_logit_per_pixel():
    model = SiamDiffUNet(10, mean=[0.1] * 10, std=[0.05] * 10).eval()
    assert 50_000 < parameter_count(model) < 500_000
    x = torch.rand(2, 10, 32, 48)
    y = torch.rand(2, 10, 32, 48)
    out = model(x, y)
    assert out.shape == (2, 1, 32, 48)
    # Absolute feature differences: the order of the dates does not matter.
    assert torch.allclose(out, model(y, x), atol=1e-5)


def test_normalisation_is_part_of_the_network():
    torch.manual_seed(0)
    a = SiamDiffUNet(3, (4, 8, 16), mean=[0.2, 0.2, 0.2], std=[0.1, 0.1, 0.1]).eval()
    b = SiamDiffUNet(3, (4, 8, 16)).eval()
    b.load_state_dict({k: v for k, v in a.state_dict().items() if k not in ("mean", "std")}, strict=False)
    x, y = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    # b sees raw values, a sees (x - 0.2) / 0.1: same weights, different inputs after normalisation.
    assert torch.allclose(a(x, y), b((x - 0.2) / 0.1, (y - 0.2) / 0.1), atol=1e-5)
