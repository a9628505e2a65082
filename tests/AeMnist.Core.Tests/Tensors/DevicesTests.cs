using AeMnist.Tensors;

namespace AeMnist.Core.Tests.Tensors;

public class DevicesTests
{
    [Theory]
    [InlineData("cpu")]
    [InlineData(" CPU ")]
    public void CpuIsAvailable(string name) => Assert.Equal("cpu", Devices.Validate(name));

    [Fact]
    public void CudaGivesAClearMessage()
    {
        var e = Assert.Throws<DeviceNotAvailableException>(() => Devices.Validate("cuda"));
        Assert.Equal("device 'cuda' is not available in this build (CPU only); use --device cpu", e.Message);
        Assert.Equal("cuda", e.Device);
    }
}
