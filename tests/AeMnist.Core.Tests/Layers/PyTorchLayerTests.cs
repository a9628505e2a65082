// Every layer and the loss against PyTorch on the same inputs and weights (tests/fixtures/generate.py):
// output, dInput, dWeight and dBias for a random upstream gradient.
using AeMnist.Core.Tests.TestSupport;
using AeMnist.Engines.Native.Layers;
using AeMnist.Tensors;

namespace AeMnist.Core.Tests.Layers;

public class PyTorchLayerTests
{
    public static TheoryData<string> LinearCases => Fixtures.Names("linear");
    public static TheoryData<string> Conv2dCases => Fixtures.Names("conv2d");
    public static TheoryData<string> ConvTranspose2dCases => Fixtures.Names("conv_transpose2d");
    public static TheoryData<string> ReluCases => Fixtures.Names("relu");
    public static TheoryData<string> SigmoidCases => Fixtures.Names("sigmoid");
    public static TheoryData<string> MseCases => Fixtures.Names("mse");

    internal static TensorShape ShapeOf(FixtureTensor t) => t.Shape.Length switch
    {
        2 => TensorShape.Dense(t.Shape[0], t.Shape[1]),
        4 => new TensorShape(t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]),
        _ => throw new NotSupportedException($"rank {t.Shape.Length}"),
    };

    /// <summary>Loads the fixture's weight and bias, runs forward and backward, and compares everything.</summary>
    private static void Check(FixtureCase c, Module layer)
    {
        ParameterSet parameters = ParameterSet.Create(layer);
        foreach (ParameterInfo entry in parameters.Entries)
        {
            Assert.Equal(c.Get(entry.Name).Shape, entry.Shape);
            c[entry.Name].CopyTo(parameters.Values(entry));
        }
        FixtureTensor input = c.Get("input");
        TensorShape shape = ShapeOf(input);
        Assert.Equal(ShapeOf(c.Get("output")), layer.OutputShape(shape));

        ReadOnlySpan<float> output = layer.Forward(input.Data, shape);
        Approx.Equal(c["output"], output, $"{c} output");
        ReadOnlySpan<float> dInput = layer.Backward(c["grad_output"]);
        Approx.Equal(c["grad_input"], dInput, $"{c} grad_input");
        foreach (ParameterInfo entry in parameters.Entries)
            Approx.Equal(c["grad_" + entry.Name], parameters.Gradients(entry), $"{c} grad_{entry.Name}");
    }

    [Theory]
    [MemberData(nameof(LinearCases))]
    public void Linear(string name)
    {
        FixtureCase c = Fixtures.Get(name);
        Check(c, new Linear(c.Int("in"), c.Int("out")));
    }

    [Theory]
    [MemberData(nameof(Conv2dCases))]
    public void Conv2d(string name)
    {
        FixtureCase c = Fixtures.Get(name);
        Check(c, new Conv2d(c.Int("in_channels"), c.Int("out_channels"), c.Int("kernel_size"), c.Int("stride"), c.Int("padding")));
    }

    [Theory]
    [MemberData(nameof(ConvTranspose2dCases))]
    public void ConvTranspose2d(string name)
    {
        FixtureCase c = Fixtures.Get(name);
        Check(c, new ConvTranspose2d(c.Int("in_channels"), c.Int("out_channels"), c.Int("kernel_size"), c.Int("stride"),
            c.Int("padding"), c.Int("output_padding")));
    }

    [Theory]
    [MemberData(nameof(ReluCases))]
    public void ReLU(string name) => Check(Fixtures.Get(name), new ReLU());

    [Theory]
    [MemberData(nameof(SigmoidCases))]
    public void Sigmoid(string name) => Check(Fixtures.Get(name), new Sigmoid());

    [Theory]
    [MemberData(nameof(MseCases))]
    public void MseLossValueAndGradient(string name)
    {
        FixtureCase c = Fixtures.Get(name);
        FixtureTensor prediction = c.Get("prediction");
        var loss = new MseLoss();
        float value = loss.Forward(prediction.Data, c["target"], ShapeOf(prediction));
        Approx.Equal(c["loss"][0], value, $"{c} loss");
        Approx.Equal(c["grad_prediction"], loss.Backward(), $"{c} grad_prediction");
    }
}
