// nn.Conv2d as im2col + GEMM over the whole batch: the columns of every image side by side, (Cin·K², N·Ho·Wo), so the
// forward, the weight gradient and the input gradient (GEMM + col2im) are one GEMM each. Stride and zero padding live
// in the im2col geometry.
using AeMnist.Gpu.Kernels;
using ILGPU;

namespace AeMnist.Gpu.Layers;

// input (Cin, N, H, W), weight (Cout, Cin, K, K), bias (Cout) -> output (Cout, N, Ho, Wo), Ho = (H + 2P - K)/S + 1
internal sealed class Conv2d : Module
{
    private readonly Models.Conv2dSpec _spec;
    private readonly int _height, _width, _outHeight, _outWidth;
    private readonly ArrayView<float> _weight, _bias, _dWeight, _dBias;
    private readonly DeviceBuffer _columns, _output, _dColumns, _dInput;
    private ConvGeometry _geometry;  // the last Forward's, whose columns Backward uses

    public Conv2d(DeviceKernels kernels, DeviceMemory memory, Models.Conv2dSpec spec, Models.SampleShape input, ArrayView<float> weight, ArrayView<float> bias,
        ArrayView<float> dWeight, ArrayView<float> dBias) : base(kernels)
    {
        _spec = spec;
        Models.SampleShape output = spec.OutputShape(input);
        (_height, _width, _outHeight, _outWidth) = (input.H, input.W, output.H, output.W);
        (_weight, _bias, _dWeight, _dBias) = (weight, bias, dWeight, dBias);
        _columns = Buffer(memory);
        _output = Buffer(memory);
        _dColumns = Buffer(memory);
        _dInput = Buffer(memory);
    }

    public override DeviceTensor Forward(DeviceTensor input, bool training)
    {
        CheckShape(input, _spec.InChannels, _height, _width, _spec.ToString());
        _geometry = new ConvGeometry
        {
            Channels = _spec.InChannels, Images = input.Images, Height = _height, Width = _width, OutHeight = _outHeight, OutWidth = _outWidth,
            Kernel = _spec.KernelSize, Stride = _spec.Stride, Padding = _spec.Padding,
        };
        ArrayView<float> columns = _columns.Get((long)_geometry.Rows * _geometry.Columns);
        Kernels.Im2Col(input.Data, columns, _geometry);
        ArrayView<float> output = _output.Get((long)_spec.OutChannels * _geometry.Columns);
        Kernels.Gemm(_weight, columns, output, _spec.OutChannels, _geometry.Columns, _geometry.Rows, bias: _bias);  // Y = W·cols + b
        return new DeviceTensor(output, _spec.OutChannels, input.Images, _outHeight, _outWidth);
    }

    public override DeviceTensor Backward(DeviceTensor dOutput, bool computeInputGradient)
    {
        ConvGeometry g = _geometry;
        ArrayView<float> columns = _columns.Get((long)g.Rows * g.Columns);
        Kernels.Gemm(dOutput.Data, columns, _dWeight, _spec.OutChannels, g.Rows, g.Columns, transposeB: true, accumulate: true, splitK: true);  // dW += dY·colsᵀ
        Kernels.RowSums(dOutput.Data, _dBias, _spec.OutChannels, g.Columns, accumulate: true);                                                   // db += Σ dY
        if (!computeInputGradient) return default;
        ArrayView<float> dColumns = _dColumns.Get((long)g.Rows * g.Columns);
        Kernels.Gemm(_weight, dOutput.Data, dColumns, g.Rows, g.Columns, _spec.OutChannels, transposeA: true);                                   // dcols = Wᵀ·dY
        ArrayView<float> dInput = _dInput.Get((long)g.Channels * g.Images * g.Height * g.Width);
        Kernels.Col2Im(dColumns, dInput, g);                                                                                                     // dX = col2im(dcols)
        return new DeviceTensor(dInput, g.Channels, g.Images, g.Height, g.Width);
    }
}
