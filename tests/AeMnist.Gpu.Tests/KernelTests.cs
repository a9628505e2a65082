// The ilgpu engine's kernels on their own: the tiled GEMM held to its naive twin (bit for bit, every transpose, bias and
// accumulation, awkward sizes, with one-thread groups and with 2x2 and 4x4 groups, so the shared-memory staging of a
// real GPU group runs too), split-K and the fixed-order row sums held to naive sums, and every kernel compiled by ILGPU
// to PTX (for sm_75 and sm_90) and to OpenCL C here, where there is no GPU: what a GPU would compile is compiled in CI.
using System.Reflection;
using AeMnist.Core.Tests.TestSupport;
using AeMnist.Gpu.Kernels;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace AeMnist.Gpu.Tests;

public sealed class KernelTests : IDisposable
{
    private readonly Context _context;
    private readonly Accelerator _accelerator;
    private readonly DeviceMemory _memory;

    public KernelTests()
    {
        if (Engines.Device == "cpu")
        {
            // 16 threads a group at most, as a small GPU group; 2 multiprocessors.
            var device = new CPUDevice(numThreadsPerWarp: 4, numWarpsPerMultiprocessor: 4, numMultiprocessors: 2);
            _context = Context.Create(b => b.CPU(device).EnableAlgorithms());
            _accelerator = device.CreateCPUAccelerator(_context, CPUAcceleratorMode.Parallel);
        }
        else
        {
            (_context, _accelerator, _) = GpuDevices.Open(Engines.Device, 1);  // tests/gpu/check.sh: the real device
        }
        _memory = new DeviceMemory(_accelerator, "test");
    }

    public void Dispose()
    {
        _accelerator.Dispose();
        _context.Dispose();
    }

    private ArrayView<float> Upload(float[] values)
    {
        ArrayView<float> view = _memory.Allocate<float>(values.Length).View;
        DeviceMemory.Upload(view, values);
        return view;
    }

    [Theory]
    [InlineData(1, 1, 1), InlineData(3, 5, 7), InlineData(17, 33, 15), InlineData(4, 64, 31), InlineData(65, 9, 40), InlineData(5, 70, 600)]
    public void TheTiledGemmIsItsNaiveTwinBitForBit(int m, int n, int k)
    {
        var rng = new Rng((ulong)(m * 1000 + n * 10 + k));
        float[] a = Approx.Random(rng, m * k), b = Approx.Random(rng, k * n), c0 = Approx.Random(rng, m * n), bias = Approx.Random(rng, m);
        foreach (int? threads in new int?[] { 1, 2, 4, null })  // null: the device's own group sizes
        {
            using var kernels = new DeviceKernels(_accelerator, _memory, gemmThreads: threads, reduceThreads: threads * threads);
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    foreach (bool accumulate in new[] { false, true })
                    {
                        ArrayView<float> tiled = Upload(c0), naive = Upload(c0), av = Upload(a), bv = Upload(b), biasView = Upload(bias);
                        kernels.Gemm(av, bv, tiled, m, n, k, ta, tb, accumulate, bias: accumulate ? default : biasView);
                        kernels.Gemm(av, bv, naive, m, n, k, ta, tb, accumulate, bias: accumulate ? default : biasView, naive: true);
                        float[] x = DeviceParameters.Download(tiled), y = DeviceParameters.Download(naive);
                        Approx.Identical(y, x, $"{threads}x{threads} threads, transposes {ta}/{tb}, accumulate {accumulate}");
                    }
        }
    }

    [Theory]
    [InlineData(3, 4, 1000), InlineData(32, 9, 5000), InlineData(64, 70, 700)]
    public void ASplitGemmAddsItsChunksInOrderToTheNaiveSum(int m, int n, int k)
    {
        (int splits, int chunk) = DeviceKernels.SplitK(m, n, k);
        Assert.True(splits > 1 && chunk % GemmKernels.KTile == 0 && (splits - 1) * chunk < k, $"{splits} splits of {chunk}");
        var rng = new Rng(5);
        float[] a = Approx.Random(rng, m * k), b = Approx.Random(rng, k * n), c0 = Approx.Random(rng, m * n);
        foreach (int? threads in new int?[] { 1, 4, null })
        {
            using var kernels = new DeviceKernels(_accelerator, _memory, gemmThreads: threads, reduceThreads: threads is null ? null : 1);
            ArrayView<float> split = Upload(c0), naive = Upload(c0), av = Upload(a), bv = Upload(b);
            kernels.Gemm(av, bv, split, m, n, k, transposeB: true, accumulate: true, splitK: true);
            kernels.Gemm(av, bv, naive, m, n, k, transposeB: true, accumulate: true, naive: true);
            Approx.Equal(DeviceParameters.Download(naive), DeviceParameters.Download(split), $"split-K on {threads}x{threads}", relative: 1e-5, absolute: 1e-4);
        }
    }

    [Theory]
    [InlineData(1, 1), InlineData(3, 4095), InlineData(2, 4097), InlineData(5, 20000)]
    public void RowSumsAreTheNaiveSumsInDouble(int rows, int length)
    {
        float[] x = Approx.Random(new Rng(9), rows * length);
        foreach (int? threads in new int?[] { 1, 16, null })
        {
            using var kernels = new DeviceKernels(_accelerator, _memory, gemmThreads: threads is null ? null : 1, reduceThreads: threads);
            ArrayView<float> xv = Upload(x), sums = Upload(new float[rows]), naive = Upload(new float[rows]), product = Upload(new float[rows]);
            kernels.RowSums(xv, sums, rows, length);
            kernels.RowSumsNaive(xv, naive, rows, length);
            kernels.RowSums(xv, product, rows, length, scale: 0.5, y: xv);
            float[] expectedProduct = [.. Enumerable.Range(0, rows).Select(r => (float)(0.5 * x.Skip(r * length).Take(length).Sum(v => (double)v * v)))];
            Approx.Equal(DeviceParameters.Download(naive), DeviceParameters.Download(sums), $"row sums, {threads} threads", relative: 1e-6, absolute: 1e-6);
            Approx.Equal(expectedProduct, DeviceParameters.Download(product), $"row dot products, {threads} threads", relative: 1e-6, absolute: 1e-6);
        }
    }

    /// <summary>Every kernel method of the engine: the public static methods of AeMnist.Gpu.Kernels' kernel classes.</summary>
    public static TheoryData<string> KernelNames => [.. Kernels().Select(k => $"{k.DeclaringType!.Name}.{k.Name}")];

    private static IEnumerable<MethodInfo> Kernels() =>
        new[] { typeof(GemmKernels), typeof(ReductionKernels), typeof(ElementwiseKernels), typeof(ConvKernels), typeof(BatchNormKernels), typeof(AdamKernels) }
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly));

    private static EntryPointDescription EntryPoint(MethodInfo kernel) =>
        kernel.GetParameters()[0].ParameterType == typeof(Index1D)
            ? EntryPointDescription.FromImplicitlyGroupedKernel(kernel)
            : EntryPointDescription.FromExplicitlyGroupedKernel(kernel);

    [Theory]
    [MemberData(nameof(KernelNames))]
    public void EveryKernelCompilesToPtxAndOpenCL(string name)
    {
        MethodInfo kernel = Kernels().Single(k => $"{k.DeclaringType!.Name}.{k.Name}" == name);
        using Context context = Context.Create(b => b.Cuda().OpenCL().EnableAlgorithms());  // as GpuDevices.Open
        foreach ((CudaArchitecture architecture, CudaInstructionSet isa) in new[] { (CudaArchitecture.SM_75, CudaInstructionSet.ISA_75), (CudaArchitecture.SM_90, CudaInstructionSet.ISA_80) })
        {
            using var ptx = new PTXBackend(context, new CudaCapabilityContext(architecture), architecture, isa, null);
            var compiled = (PTXCompiledKernel)ptx.Compile(EntryPoint(kernel), KernelSpecialization.Empty);
            Assert.Contains($".visible .entry Kernel_{kernel.Name}(", compiled.PTXAssembly);
            Assert.Contains(".target sm_", compiled.PTXAssembly);
        }
        using var cl = new CLBackend(context, new CLCapabilityContext(true, true, true, true, true), CLDeviceVendor.Nvidia, CLCVersion.CL20);
        var source = (CLCompiledKernel)cl.Compile(EntryPoint(kernel), KernelSpecialization.Empty);
        Assert.Contains($"kernel void Kernel_{kernel.Name}(", source.Source);
    }

    [Fact]
    public void EveryKernelIsCovered() => Assert.True(Kernels().Count() >= 20, $"{Kernels().Count()} kernels");
}
