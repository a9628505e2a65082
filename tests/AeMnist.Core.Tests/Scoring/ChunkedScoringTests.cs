// ModelScores hands the native engine's reconstructions to the scores chunk by chunk, on the thread that computed each
// (IChunkedReconstruction): every score must be the bits it has when computed afterwards from the whole reconstruction.
using AeMnist.Core.Tests.TestSupport;
using AeMnist.Detection;
using AeMnist.Engines;
using AeMnist.Engines.Native;
using AeMnist.Optim;
using AeMnist.Scoring;
using AeMnist.Models;
using AeMnist.Tensors;

namespace AeMnist.Core.Tests.Scoring;

public class ChunkedScoringTests
{
    [Theory]
    [InlineData("bottleneck", 1)]
    [InlineData("bottleneck", 2)]
    [InlineData("dense", 2)]
    public void ScoresAsTheEngineReconstructsAreTheScoresOfTheWholeReconstruction(string kind, int threads)
    {
        const int n = 1100;  // more than ModelScores.Chunk, and not a whole number of the engine's 64-image chunks
        float[] images = MnistSample.TrainImages(n);
        NativeModel model = TestModels.Native(kind, 4, threads);
        Assert.IsAssignableFrom<IChunkedReconstruction>(model);
        ScoreKind[] kinds = [ScoreKind.Ssim, ScoreKind.Mse, ScoreKind.Smoothed];
        float[][] chunked = ModelScores.Compute(model, kinds, images, n, ImageShape.Mnist, threads: threads);
        float[][] plain = ModelScores.Compute(new Plain(model), kinds, images, n, ImageShape.Mnist, threads: threads);
        var reconstructions = new float[images.Length];
        model.Reconstruct(images, n, reconstructions);
        for (int k = 0; k < kinds.Length; k++)
        {
            Approx.Identical(plain[k], chunked[k], $"{kinds[k]}, chunked vs afterwards");
            var whole = new float[n];
            Scores.FromReconstructions(kinds[k], images, reconstructions, n, ImageShape.Mnist, whole);
            Approx.Identical(whole, chunked[k], $"{kinds[k]}, chunked vs one call");
        }
    }

    // The same model behind the plain interface only: ModelScores scores after each Reconstruct.
    private sealed class Plain(IEngineModel inner) : IEngineModel
    {
        public AeMnist.Models.ModelSpec Spec => inner.Spec;
        public void ZeroGrad() => inner.ZeroGrad();
        public float ForwardBackward(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, ReadOnlySpan<int> rows, Loss loss) => inner.ForwardBackward(inputs, targets, rows, loss);
        public IOptimizer CreateOptimizer(OptimizerOptions options) => inner.CreateOptimizer(options);
        public void Reconstruct(ReadOnlySpan<float> images, int n, Span<float> output) => inner.Reconstruct(images, n, output);
        public void Losses(ReadOnlySpan<float> images, int n, Loss loss, Span<float> losses) => inner.Losses(images, n, loss, losses);
        public void Encode(ReadOnlySpan<float> images, int n, Span<float> codes) => inner.Encode(images, n, codes);
        public StateDict StateDict() => inner.StateDict();
        public void LoadStateDict(StateDict weights) => inner.LoadStateDict(weights);
        public StateDict Gradients() => inner.Gradients();
        public void Dispose() { }
    }
}
