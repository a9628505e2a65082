// Runs modules in order, as nn.Sequential; children are named "0", "1", ... in the state dict.
using AeMnist.Tensors;

namespace AeMnist.Engines.Native.Layers;

// input (shape of the first module's input) -> output (shape of the last module's output)
public sealed class Sequential : Module
{
    private readonly (string Name, Module Module)[] _children;

    public Sequential(params Module[] modules)
    {
        if (modules.Length == 0) throw new ArgumentException("Sequential needs at least one module.", nameof(modules));
        _children = modules.Select((module, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), module)).ToArray();
    }

    public int Count => _children.Length;

    public Module this[int index] => _children[index].Module;

    public override IReadOnlyList<(string Name, Module Module)> Children => _children;

    public override TensorShape OutputShape(TensorShape input)
    {
        foreach ((_, Module module) in _children) input = module.OutputShape(input);
        return input;
    }

    public override ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, TensorShape shape)
    {
        foreach ((_, Module module) in _children)
        {
            input = module.Forward(input, shape);
            shape = module.OutputShape(shape);
        }
        return input;
    }

    public override ReadOnlySpan<float> Backward(ReadOnlySpan<float> dOutput, bool computeInputGradient)
    {
        for (int i = _children.Length - 1; i >= 0; i--)
            dOutput = _children[i].Module.Backward(dOutput, i > 0 || computeInputGradient);
        return dOutput;
    }
}
