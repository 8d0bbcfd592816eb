#!/usr/bin/env python3
"""Writes tests/fixtures/onnx/: small PyTorch models exported to ONNX, with reference inputs and PyTorch's outputs.

    apt-get install -y python3-torch python3-onnx     # Debian 12: PyTorch 1.13, onnx 1.12
    /usr/bin/python3 tools/onnx/make-fixtures.py

Each fixture is <name>.onnx plus <name>.json: { input: NCHW dims, x: values, y: PyTorch's output (NCHW or [N, F]),
opset, batch: 'dynamic' | 'fixed' }. Models are exported in eval mode (batch norm uses its running statistics, which
are set to non-trivial values first). Only needed to regenerate the committed files; the tests need neither.
"""
import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import helper, numpy_helper, TensorProto

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tests', 'fixtures', 'onnx')
OPSET = 13


class LeNet5(nn.Module):
    """LeNet-5's layout (conv 5x5 'same', pool, conv 5x5, pool, three dense layers) at a quarter of its widths, so
    that the file stays small."""
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 5, padding=2)
        self.conv2 = nn.Conv2d(4, 8, 5)
        self.fc1 = nn.Linear(8 * 5 * 5, 32)
        self.fc2 = nn.Linear(32, 16)
        self.fc3 = nn.Linear(16, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.avg_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)  # exports as Shape / Gather / Unsqueeze / Concat / Reshape
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return F.softmax(self.fc3(x), dim=1)


class ResNetBlock(nn.Module):
    """A ResNet stem and one basic block with a projection shortcut, then global pooling and a classifier."""
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn0 = nn.BatchNorm2d(8)
        self.conv1 = nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.proj = nn.Conv2d(8, 16, 1, stride=2, bias=False)
        self.bnp = nn.BatchNorm2d(16)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        x = F.relu(self.bn0(self.stem(x)))
        x = F.max_pool2d(x, 3, stride=2, padding=1)          # after a ReLU: zero padding is exact
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        x = F.relu(y + self.bnp(self.proj(x)))
        x = F.adaptive_avg_pool2d(x, 1)                      # GlobalAveragePool
        return self.fc(torch.flatten(x, 1))


class FCN(nn.Module):
    """Encoder, 1x1 class scores, transposed-convolution upsampling with skip additions (FCN-8s style)."""
    def __init__(self, classes=4):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 16, 3, padding=1)
        self.c3 = nn.Conv2d(16, 16, 3, padding=1)
        self.score3 = nn.Conv2d(16, classes, 1)
        self.score2 = nn.Conv2d(16, classes, 1)
        self.score1 = nn.Conv2d(8, classes, 1)
        self.up3 = nn.ConvTranspose2d(classes, classes, 4, stride=2, padding=1)
        self.up2 = nn.ConvTranspose2d(classes, classes, 4, stride=2, padding=1)
        self.up1 = nn.ConvTranspose2d(classes, classes, 2, stride=2)

    def forward(self, x):
        p1 = F.max_pool2d(F.relu(self.c1(x)), 2)     # 1/2
        p2 = F.max_pool2d(F.relu(self.c2(p1)), 2)    # 1/4
        p3 = F.max_pool2d(F.relu(self.c3(p2)), 2)    # 1/8
        s = self.up3(self.score3(p3)) + self.score2(p2)
        s = self.up2(s) + self.score1(p1)
        s = self.up1(s)
        return F.softmax(s, dim=1)


class SegNet(nn.Module):
    """Encoder with max pooling indices, decoder with max-unpooling through them."""
    def __init__(self, classes=3):
        super().__init__()
        self.e1 = nn.Conv2d(3, 8, 3, padding=1)
        self.b1 = nn.BatchNorm2d(8)
        self.e2 = nn.Conv2d(8, 16, 3, padding=1)
        self.b2 = nn.BatchNorm2d(16)
        self.d2 = nn.Conv2d(16, 8, 3, padding=1)
        self.db2 = nn.BatchNorm2d(8)
        self.d1 = nn.Conv2d(8, classes, 3, padding=1)

    def forward(self, x):
        x = F.relu(self.b1(self.e1(x)))
        x, i1 = F.max_pool2d(x, 2, return_indices=True)
        x = F.relu(self.b2(self.e2(x)))
        x, i2 = F.max_pool2d(x, 2, return_indices=True)
        x = F.max_unpool2d(x, i2, 2)
        x = F.relu(self.db2(self.d2(x)))
        x = F.max_unpool2d(x, i1, 2)
        return self.d1(x)


def randomize_bn(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.3)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=gen) * 0.2)


def save(name, onnx_model, x, y, batch):
    onnx.checker.check_model(onnx_model)
    onnx.save(onnx_model, os.path.join(OUT, name + '.onnx'))
    ref = {'input': list(x.shape), 'x': [round(float(v), 6) for v in x.flatten()],
           'output': list(y.shape), 'y': [float(v) for v in y.flatten()], 'opset': OPSET, 'batch': batch}
    with open(os.path.join(OUT, name + '.json'), 'w') as f:
        json.dump(ref, f)
    size = os.path.getsize(os.path.join(OUT, name + '.onnx'))
    print(f'{name}: {size} bytes of ONNX, input {list(x.shape)} -> output {list(y.shape)}')


def export(name, model, shape, dynamic=True):
    gen = torch.Generator().manual_seed(sum(name.encode()))
    randomize_bn(model, gen)
    model.eval()
    x = torch.round(torch.randn(*shape, generator=gen) * 1e4) / 1e4  # the JSON keeps 6 digits: exact values
    with torch.no_grad():
        y = model(x)
    path = os.path.join(OUT, name + '.onnx')
    # PRESERVE keeps BatchNormalization nodes (EVAL would fold them into the convolutions); in eval mode they are
    # exported in inference form.
    torch.onnx.export(model, x, path, opset_version=OPSET, input_names=['input'], output_names=['output'],
                      training=torch.onnx.TrainingMode.PRESERVE, dynamic_axes={'input': {0: 'N'}, 'output': {0: 'N'}} if dynamic else None)
    save(name, onnx.load(path), x.numpy(), y.numpy(), 'dynamic' if dynamic else 'fixed')


def export_segnet():
    """PyTorch 1.13 cannot export max_unpool2d: the same graph is written with onnx.helper from the model's weights."""
    torch.manual_seed(4)
    model = SegNet()
    gen = torch.Generator().manual_seed(4)
    randomize_bn(model, gen)
    model.eval()
    x = torch.round(torch.randn(2, 3, 12, 16, generator=gen) * 1e4) / 1e4
    with torch.no_grad():
        y = model(x)
    inits = []
    nodes = []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def conv_bn_relu(prefix, conv, bn, inp, relu=True):
        args = [inp, const(prefix + '.weight', conv.weight.detach().numpy())]
        args.append(const(prefix + '.bias', conv.bias.detach().numpy()))
        nodes.append(helper.make_node('Conv', args, [prefix + '_c'], name=prefix, kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
        if bn is None:
            return prefix + '_c'
        names = [const(f'{prefix}.bn.{k}', getattr(bn, a).detach().numpy())
                 for k, a in (('weight', 'weight'), ('bias', 'bias'), ('mean', 'running_mean'), ('var', 'running_var'))]
        nodes.append(helper.make_node('BatchNormalization', [prefix + '_c'] + names, [prefix + '_bn'],
                                      name=prefix + '_bn', epsilon=bn.eps, momentum=1 - bn.momentum))
        nodes.append(helper.make_node('Relu', [prefix + '_bn'], [prefix + '_r'], name=prefix + '_relu'))
        return prefix + '_r'

    h = conv_bn_relu('e1', model.e1, model.b1, 'input')
    nodes.append(helper.make_node('MaxPool', [h], ['p1', 'i1'], name='pool1', kernel_shape=[2, 2], strides=[2, 2]))
    nodes.append(helper.make_node('Shape', [h], ['s1'], name='shape1'))
    h = conv_bn_relu('e2', model.e2, model.b2, 'p1')
    nodes.append(helper.make_node('MaxPool', [h], ['p2', 'i2'], name='pool2', kernel_shape=[2, 2], strides=[2, 2]))
    nodes.append(helper.make_node('Shape', [h], ['s2'], name='shape2'))
    nodes.append(helper.make_node('MaxUnpool', ['p2', 'i2', 's2'], ['u2'], name='unpool2', kernel_shape=[2, 2], strides=[2, 2]))
    h = conv_bn_relu('d2', model.d2, model.db2, 'u2')
    nodes.append(helper.make_node('MaxUnpool', [h, 'i1', 's1'], ['u1'], name='unpool1', kernel_shape=[2, 2], strides=[2, 2]))
    out = conv_bn_relu('d1', model.d1, None, 'u1')
    nodes.append(helper.make_node('Identity', [out], ['output'], name='output'))
    graph = helper.make_graph(
        nodes, 'segnet', [helper.make_tensor_value_info('input', TensorProto.FLOAT, ['N', 3, 12, 16])],
        [helper.make_tensor_value_info('output', TensorProto.FLOAT, ['N', 3, 12, 16])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)], producer_name='make-fixtures.py')
    m.ir_version = 7
    save('segnet', m, x.numpy(), y.numpy(), 'dynamic')


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(1)
    export('lenet5', LeNet5(), (2, 1, 28, 28))
    torch.manual_seed(2)
    export('resnet-block', ResNetBlock(), (2, 3, 16, 16))
    torch.manual_seed(2)
    export('resnet-block-fixed', ResNetBlock(), (1, 3, 16, 16), dynamic=False)
    torch.manual_seed(3)
    export('fcn', FCN(), (2, 3, 16, 16))
    export_segnet()


if __name__ == '__main__':
    sys.exit(main())
