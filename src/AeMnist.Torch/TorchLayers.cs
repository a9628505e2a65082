// A ModelSpec as TorchSharp modules: the one place that maps each LayerSpec to its torch.nn module. A layer spec the
// switch does not know is a clear error; to add one, add its case here (and its differential test case in
// tests/AeMnist.Torch.Tests/LayerCases.cs).
using AeMnist.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AeMnist.Torch;

internal static class TorchLayers
{
    /// <summary>The torch.nn module of <paramref name="layer"/>, with PyTorch's hyper-parameters and parameter names.</summary>
    public static nn.Module<Tensor, Tensor> Build(LayerSpec layer) => layer switch
    {
        LinearSpec l => nn.Linear(l.InFeatures, l.OutFeatures),
        Conv2dSpec c => nn.Conv2d(c.InChannels, c.OutChannels, c.KernelSize, stride: c.Stride, padding: c.Padding),
        ConvTranspose2dSpec t => nn.ConvTranspose2d(t.InChannels, t.OutChannels, t.KernelSize, stride: t.Stride, padding: t.Padding, output_padding: t.OutputPadding),
        BatchNorm2dSpec b => nn.BatchNorm2d(b.NumFeatures, eps: b.Eps, momentum: b.Momentum),
        BatchNorm1dSpec b => nn.BatchNorm1d(b.NumFeatures, eps: b.Eps, momentum: b.Momentum),
        ReLUSpec => nn.ReLU(),
        SigmoidSpec => nn.Sigmoid(),
        FlattenSpec => nn.Flatten(),
        UnflattenSpec u => nn.Unflatten(1, [u.Channels, u.Height, u.Width]),
        _ => throw new NotSupportedException($"The torch engine has no implementation of {layer} ({layer.GetType().Name}); add it to TorchLayers.Build, or use --engine native."),
    };
}

// images (N, C, H, W) or (N, F) -> encoder -> latent -> decoder -> (N, C, H, W) or (N, F)
/// <summary>The spec's autoencoder as an nn.Module whose state-dict names are the spec's: encoder.0.weight, ..., decoder.2.bias.</summary>
internal sealed class AutoEncoderModule : nn.Module<Tensor, Tensor>
{
    // The field names are the state-dict prefixes (RegisterComponents names submodules after their fields).
    private readonly Sequential encoder;
    private readonly Sequential decoder;

    public AutoEncoderModule(ModelSpec spec) : base(spec.Architecture.Name)
    {
        encoder = nn.Sequential(spec.Encoder.Select((layer, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), TorchLayers.Build(layer))));
        decoder = nn.Sequential(spec.Decoder.Select((layer, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), TorchLayers.Build(layer))));
        RegisterComponents();
    }

    public Tensor Encode(Tensor images) => encoder.forward(images);

    public override Tensor forward(Tensor images) => decoder.forward(encoder.forward(images));

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            encoder.Dispose();
            decoder.Dispose();
        }
        base.Dispose(disposing);
    }
}
