#!/usr/bin/env python3
"""The tutorial's training loop in PyTorch, timed, for the side-by-side benchmark (compare.sh).

Trains the tutorial's AutoEncoder(784, 64, 32) or ConvAutoEncoder on exactly the training images of an
aemnist run (the indices in its run.json), batch 512, Adam lr 0.01, and prints one JSON line with the
seconds of each epoch and the scoring throughput over the 10,000-image test file. Used only by the
benchmark: neither the tests nor CI need PyTorch.

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


def read_idx_images(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 0x803, path
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(n, 1, rows, cols)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--run-json", required=True, help="run.json of an aemnist run: its split indices are used")
    p.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "data", "mnist"))
    p.add_argument("--model", choices=["dense", "conv"], required=True)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()

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

    model = AutoEncoder(28 * 28, 64, 32) if args.model == "dense" else ConvAutoEncoder()
    loss_fn = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    epoch_seconds = []
    for epoch in range(args.epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(train.shape[0])
        for b in range(0, train.shape[0], args.batch_size):
            batch = train[order[b:b + args.batch_size]]
            optimizer.zero_grad()
            loss = loss_fn(model(batch), batch)
            loss.backward()
            optimizer.step()
        epoch_seconds.append(time.perf_counter() - start)

    model.eval()
    score_seconds = []
    with torch.no_grad():
        for _ in range(3):
            start = time.perf_counter()
            for b in range(0, test.shape[0], args.batch_size):
                batch = test[b:b + args.batch_size]
                ((model(batch) - batch) ** 2).mean(dim=(1, 2, 3))
            score_seconds.append(time.perf_counter() - start)

    steady = epoch_seconds[1:] if len(epoch_seconds) > 1 else epoch_seconds
    print(json.dumps({
        "engine": f"pytorch {torch.__version__}",
        "model": args.model,
        "threads": torch.get_num_threads(),
        "train_images": int(train.shape[0]),
        "epoch_seconds": epoch_seconds,
        "seconds_per_epoch": sorted(steady)[len(steady) // 2],
        "final_loss": float(loss.item()),
        "score_images_per_second": test.shape[0] / min(score_seconds),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    sys.exit(main())
