// swift-tools-version:5.9
import PackageDescription

let package = Package(
    name: "App",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.3.0"),
        .package(url: "https://github.com/vapor/vapor", .upToNextMajor(from: "4.89.0")),
        .package(url: "https://github.com/pointfreeco/swift-snapshot-testing", exact: "1.15.0"),
        .package(url: "git@github.com:user/ranged.git", "1.0.0"..<"2.0.0"),
        .package(url: "https://github.com/user/branch.git", branch: "main"),
        .package(url: "https://github.com/user/rev.git", revision: "0123456789abcdef"),
        .package(name: "Old", url: "https://github.com/user/old.git", .exact("0.1.0")),
        .package(path: "../Local"),
        /* .package(url: "https://github.com/user/commented.git", from: "1.0.0"), */
    ],
    targets: [
        .executableTarget(name: "App", dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")]),
    ]
)
