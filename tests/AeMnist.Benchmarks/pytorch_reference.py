#!/usr/bin/env python3
"""The tutorial's training loop in PyTorch, timed, for the side-by-side benchmark (compare.sh).

Trains the tutorial's AutoEncoder(784, 64, 32) or ConvAutoEncoder (batch 512, Adam lr 0.01), or aemnist's bottleneck
model (src/AeMnist.Core/Models/BottleneckAutoEncoder.cs: batch 128, Adam lr 0.001, as its recipe), on exactly the
training images of an aemnist run (the indices in its run.json), and prints one JSON line with the seconds of each
epoch and the scoring throughput over the 10,000-image test file with each of aemnist's scores (mse, ssim and smoothed
computed as aemnist defines them, with PyTorch's own conv2d). Used only by the benchmark: neither the tests nor
CI need PyTorch.

    python3 pytorch_reference.py --run-json runs/X/run.json --model dense --epochs 10 --threads 2
"""
import argparse, gzip, json, os, resource, struct, sys, time

import numpy as np
import torch
import torch.nn as nn


class AutoEncoder(nn.Module):  # the tutorial's, unchanged
    def __init__(self, input_dim, hidden_dim1, hidden_dim2):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(input_dim, hidden_dim1), nn.ReLU(), nn.Linear(hidden_dim1, hidden_dim2), nn.ReLU())
        self.decoder = nn.Sequential(nn.Linear(hidden_dim2, hidden_dim1), nn.ReLU(), nn.Linear(hidden_dim1, input_dim), nn.ReLU())

    def forward(self, x):
        out = x.view(x.size(0), -1)
        out = self.decoder(self.encoder(out))
        return out.view(x.size())


class ConvAutoEncoder(nn.Module):  # the tutorial's, unchanged
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(1, 3, kernel_size=5), nn.ReLU(), nn.Conv2d(3, 5, kernel_size=5), nn.ReLU())
        self.decoder = nn.Sequential(nn.ConvTranspose2d(5, 3, kernel_size=5), nn.ReLU(), nn.ConvTranspose2d(3, 1, kernel_size=5), nn.ReLU())

    def forward(self, x):
        return self.decoder(self.encoder(x))


class BottleneckAutoEncoder(nn.Module):  # aemnist's bottleneck model, layer for layer (its state dict has the same names)
    def __init__(self, latent=16, c1=32, c2=64):
        super().__init__()
        flat = c2 * 7 * 7
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c1, 3, stride=2, padding=1), nn.BatchNorm2d(c1), nn.ReLU(),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.BatchNorm2d(c2), nn.ReLU(),
            nn.Flatten(), nn.Linear(flat, latent))
        self.decoder = nn.Sequential(
            nn.Linear(latent, flat), nn.BatchNorm1d(flat), nn.ReLU(), nn.Unflatten(1, (c2, 7, 7)),
            nn.ConvTranspose2d(c2, c1, 3, stride=2, padding=1, output_padding=1), nn.BatchNorm2d(c1), nn.ReLU(),
            nn.ConvTranspose2d(c1, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


def gaussian_window(size, sigma):
    g = torch.exp(-((torch.arange(size, dtype=torch.float32) - (size - 1) / 2) ** 2) / (2 * sigma ** 2))
    return g / g.sum()


G11, G5 = gaussian_window(11, 1.5), gaussian_window(5, 1.0)


def blur(x, g, padding):  # separable Gaussian over (N, 1, H, W), as pytorch_msssim's gaussian_filter
    x = nn.functional.conv2d(x, g.view(1, 1, 1, -1), padding=(0, padding))
    return nn.functional.conv2d(x, g.view(1, 1, -1, 1), padding=(padding, 0))


def ssim_score(x, y):  # aemnist's ssim: 1 - mean SSIM over the valid 11x11 windows (sigma 1.5, C1 = 0.01², C2 = 0.03²)
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mx, my = blur(x, G11, 0), blur(y, G11, 0)
    sxx, syy, sxy = blur(x * x, G11, 0) - mx * mx, blur(y * y, G11, 0) - my * my, blur(x * y, G11, 0) - mx * my
    s = (2 * mx * my + c1) * (2 * sxy + c2) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return 1 - s.mean(dim=(1, 2, 3))


def smoothed_score(x, y):  # aemnist's smoothed: mean square of the residual blurred by the 5x5 Gaussian (sigma 1), zero padding
    return (blur(x - y, G5, 2) ** 2).mean(dim=(1, 2, 3))


SCORES = {
    "mse": lambda x, y: ((y - x) ** 2).mean(dim=(1, 2, 3)),
    "ssim": ssim_score,
    "smoothed": smoothed_score,
}


def read_idx_images(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 0x803, path
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(n, 1, rows, cols)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--run-json", required=True, help="run.json of an aemnist run: its split indices are used")
    p.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "data", "mnist"))
    p.add_argument("--model", choices=["dense", "conv", "bottleneck"], required=True)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, help="default: 512 for the tutorial's models, 128 for bottleneck")
    p.add_argument("--lr", type=float, help="default: 0.01 for the tutorial's models, 0.001 for bottleneck")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    bottleneck = args.model == "bottleneck"
    if args.batch_size is None:
        args.batch_size = 128 if bottleneck else 512
    if args.lr is None:
        args.lr = 0.001 if bottleneck else 0.01

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(args.run_json) as f:
        run = json.load(f)
    train_idx = run["split"]["indices"]["train"]
    pooled = np.concatenate([read_idx_images(os.path.join(args.data, "train-images-idx3-ubyte.gz")),
                             read_idx_images(os.path.join(args.data, "t10k-images-idx3-ubyte.gz"))])
    # ToTensor: uint8 -> float / 255
    train = torch.from_numpy(pooled[train_idx]).float().div(255)
    test = torch.from_numpy(pooled[60000:]).float().div(255)

    model = {"dense": lambda: AutoEncoder(28 * 28, 64, 32), "conv": ConvAutoEncoder, "bottleneck": BottleneckAutoEncoder}[args.model]()
    loss_fn = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    epoch_seconds = []
    for epoch in range(args.epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(train.shape[0])
        for b in range(0, train.shape[0], args.batch_size):
            batch = train[order[b:b + args.batch_size]]
            if bottleneck and batch.shape[0] < 2:
                continue  # PyTorch's BatchNorm1d refuses to train on one image; skipping that batch changes no timing
            optimizer.zero_grad()
            loss = loss_fn(model(batch), batch)
            loss.backward()
            optimizer.step()
        epoch_seconds.append(time.perf_counter() - start)

    model.eval()
    score_rates = {}
    with torch.no_grad():
        for name, score in SCORES.items():
            seconds = []
            for _ in range(3):
                start = time.perf_counter()
                for b in range(0, test.shape[0], args.batch_size):
                    batch = test[b:b + args.batch_size]
                    score(batch, model(batch))
                seconds.append(time.perf_counter() - start)
            score_rates[name] = test.shape[0] / min(seconds)

    steady = epoch_seconds[1:] if len(epoch_seconds) > 1 else epoch_seconds
    print(json.dumps({
        "engine": f"pytorch {torch.__version__}",
        "model": args.model,
        "threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "lr": args.lr,
        "train_images": int(train.shape[0]),
        "epoch_seconds": epoch_seconds,
        "seconds_per_epoch": sorted(steady)[len(steady) // 2],
        "final_loss": float(loss.item()),
        "score_images_per_second": score_rates["mse"],
        "score_images_per_second_by_score": score_rates,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    sys.exit(main())
