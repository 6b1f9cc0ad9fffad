"""PyTorch on the GPU: the same three networks as bench_gpu.py's kspec side, for a side-by-side on one GPU.

mlp: the seed MLP (784-500-500-10, tanh, dropout 0.5; SGD lr 0.01, momentum 0.9, nesterov; batch 200; the first
42,000 images). cnn: mnist_convnet (Adam 1e-3, batch 128, 54,000 images). lstm: LSTM(128) over the 28 rows
(Adam 1e-3, batch 128, 54,000 images). The data lives on the GPU; each epoch ends with a
``torch.cuda.synchronize()`` before its time is taken. Data comes from ../shared/bench/fmnist.py, as for the
CPU peers. Prints ``epoch N train_s SECONDS test_acc ACC eval_s SECONDS`` lines.
Usage: python torch_gpu_peer.py {mlp,cnn,lstm} EPOCHS [SHARED_BENCH_DIR]
"""
import os
import sys
import time

import torch

kind, epochs = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(__file__), "..", "..",
                                                                       "shared", "bench"))
from fmnist import load  # noqa: E402

if not torch.cuda.is_available():
    sys.exit("torch_gpu_peer: PyTorch sees no CUDA GPU")
dev = torch.device("cuda")
torch.manual_seed(0)
(x, y), (xt, yt) = load()
x = torch.tensor(x / 255.0, dtype=torch.float32, device=dev)
xt = torch.tensor(xt / 255.0, dtype=torch.float32, device=dev)
y = torch.tensor(y, dtype=torch.long, device=dev)
yt = torch.tensor(yt, dtype=torch.long, device=dev)
nn = torch.nn
if kind == "mlp":
    x, xt, n, batch = x.reshape(-1, 784), xt.reshape(-1, 784), int(len(x) * 0.7), 200
    model = nn.Sequential(nn.Linear(784, 500), nn.Tanh(), nn.Dropout(0.5), nn.Linear(500, 500), nn.Tanh(),
                          nn.Dropout(0.5), nn.Linear(500, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
elif kind == "cnn":
    x, xt, n, batch = x[:, None], xt[:, None], int(len(x) * 0.9), 128
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10))
    opt = None
else:
    class Recurrent(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn, self.dense = nn.LSTM(28, 128, batch_first=True), nn.Linear(128, 10)

        def forward(self, v):
            return self.dense(self.rnn(v)[0][:, -1])
    model, n, batch = Recurrent(), int(len(x) * 0.9), 128
    opt = None
model = model.to(dev)
opt = opt or torch.optim.Adam(model.parameters(), 1e-3)
loss_fn = nn.CrossEntropyLoss()
for e in range(epochs):
    torch.cuda.synchronize()
    start = time.perf_counter()
    model.train()
    perm = torch.randperm(n, device=dev)
    for i in range(0, n, batch):
        idx = perm[i:i + batch]
        opt.zero_grad()
        loss_fn(model(x[idx]), y[idx]).backward()
        opt.step()
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    model.eval()
    start = time.perf_counter()
    with torch.no_grad():
        labels = torch.cat([model(xt[i:i + 1000]).argmax(1) for i in range(0, len(xt), 1000)])
    acc = (labels == yt).float().mean().item()
    print(f"epoch {e + 1} train_s {seconds:.3f} test_acc {acc:.4f} eval_s {time.perf_counter() - start:.3f}",
          flush=True)
