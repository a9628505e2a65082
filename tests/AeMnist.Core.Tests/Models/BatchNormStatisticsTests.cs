using AeMnist.Models;

namespace AeMnist.Core.Tests.Models;

/// <summary>A model file's batch-norm running statistics are checked on load (issue 20), the error naming the tensor.</summary>
public sealed class BatchNormStatisticsTests
{
    private static StateDict With(string name, params float[] values) =>
        new([new NamedTensor("encoder.0.weight", [2], [0.5f, -0.5f]), new NamedTensor(name, [values.Length], values)]);

    [Theory]
    [InlineData("encoder.1.running_var", new[] { 1f, -0.25f }, "holds the variance -0.25 at index 1", "never negative")]
    [InlineData("encoder.1.running_var", new[] { float.PositiveInfinity }, "at index 0", "non-finite")]
    [InlineData("encoder.1.running_mean", new[] { float.NaN }, "holds NaN at index 0", "non-finite")]
    [InlineData("encoder.1.num_batches_tracked", new[] { 2.5f }, "holds 2.5", "whole number")]
    [InlineData("encoder.1.num_batches_tracked", new[] { -3f }, "holds -3", "whole number, 0 or more")]
    public void A_statistic_no_training_could_give_is_an_error_naming_the_tensor(string name, float[] values, string what, string why)
    {
        var e = Assert.Throws<DataFormatException>(() => ModelFile.CheckFinite(With(name, values), "model.safetensors", ""));
        Assert.StartsWith($"model.safetensors: tensor '{name}' ", e.Message);
        Assert.Contains(what, e.Message);
        Assert.Contains(why, e.Message);
    }

    [Fact]
    public void Statistics_as_training_leaves_them_are_accepted()
    {
        ModelFile.CheckFinite(With("encoder.1.running_var", 0f, 1f, 1e-8f), "model.safetensors", "");
        ModelFile.CheckFinite(With("encoder.1.num_batches_tracked", 937f), "model.safetensors", "");
        ModelFile.CheckFinite(With("encoder.1.running_mean", -4f, 3f), "model.safetensors", "");  // a mean may be negative
    }
}
