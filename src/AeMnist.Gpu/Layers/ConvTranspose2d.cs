// nn.ConvTranspose2d as Conv2d's input gradient: forward is a GEMM with the weight transposed and col2im (plus the
// bias), the input gradient is Conv2d's forward (im2col + GEMM), and the weight gradient one GEMM against the same
// columns. The weight is stored (Cin, Cout, K, K) as PyTorch's; output_padding only lengthens the output.
using AeMnist.Gpu.Kernels;
using ILGPU;

namespace AeMnist.Gpu.Layers;

// input (Cin, N, H, W), weight (Cin, Cout, K, K), bias (Cout) -> output (Cout, N, Ho, Wo), Ho = (H - 1)*S - 2P + K + OutputPadding
internal sealed class ConvTranspose2d : Module
{
    private readonly Models.ConvTranspose2dSpec _spec;
    private readonly int _height, _width, _outHeight, _outWidth;
    private readonly ArrayView<float> _weight, _bias, _dWeight, _dBias;
    private readonly DeviceBuffer _columns, _output, _dColumns, _dInput;
    private DeviceTensor _input;  // Forward's input, kept for the weight gradient

    public ConvTranspose2d(DeviceKernels kernels, DeviceMemory memory, Models.ConvTranspose2dSpec spec, Models.SampleShape input, ArrayView<float> weight,
        ArrayView<float> bias, ArrayView<float> dWeight, ArrayView<float> dBias) : base(kernels)
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

    // The convolution whose input gradient this layer computes: its input is our output, its output our input.
    private ConvGeometry Geometry(int images) => new()
    {
        Channels = _spec.OutChannels, Images = images, Height = _outHeight, Width = _outWidth, OutHeight = _height, OutWidth = _width,
        Kernel = _spec.KernelSize, Stride = _spec.Stride, Padding = _spec.Padding,
    };

    public override DeviceTensor Forward(DeviceTensor input, bool training)
    {
        CheckShape(input, _spec.InChannels, _height, _width, _spec.ToString());
        ConvGeometry g = Geometry(input.Images);
        ArrayView<float> columns = _columns.Get((long)g.Rows * g.Columns);
        Kernels.Gemm(_weight, input.Data, columns, g.Rows, g.Columns, _spec.InChannels, transposeA: true);  // cols = Wᵀ·X
        ArrayView<float> output = _output.Get((long)g.Channels * g.Images * g.Height * g.Width);
        Kernels.Col2Im(columns, output, g, _bias);                                                          // Y = col2im(cols) + b
        _input = input;
        return new DeviceTensor(output, _spec.OutChannels, input.Images, _outHeight, _outWidth);
    }

    public override DeviceTensor Backward(DeviceTensor dOutput, bool computeInputGradient)
    {
        ConvGeometry g = Geometry(dOutput.Images);
        ArrayView<float> dColumns = _dColumns.Get((long)g.Rows * g.Columns);
        Kernels.Im2Col(dOutput.Data, dColumns, g);                                                                                               // cols = im2col(dY)
        Kernels.Gemm(_input.Data, dColumns, _dWeight, _spec.InChannels, g.Rows, g.Columns, transposeB: true, accumulate: true, splitK: true);    // dW += X·colsᵀ
        Kernels.RowSums(dOutput.Data, _dBias, _spec.OutChannels, g.Images * g.Height * g.Width, accumulate: true);                               // db += Σ dY
        if (!computeInputGradient) return default;
        ArrayView<float> dInput = _dInput.Get((long)_spec.InChannels * g.Columns);
        Kernels.Gemm(_weight, dColumns, dInput, _spec.InChannels, g.Columns, g.Rows);                                                            // dX = W·cols
        return new DeviceTensor(dInput, _spec.InChannels, dOutput.Images, _height, _width);
    }
}
